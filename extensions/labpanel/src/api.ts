/** Talking to the server extension under <base_url>/xiotlab/, with Jupyter's token and XSRF. */

import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import { actionResult, EventStreamParser, IActionResult, ILabState } from './model';

const settings = (): ServerConnection.ISettings => ServerConnection.makeSettings();

export function apiUrl(path: string): string {
  return URLExt.join(settings().baseUrl, 'xiotlab', path);
}

/** Start, stop or restart the lab: the server's answer, whose `output` says what went wrong. */
export async function serverAction(action: 'start' | 'stop' | 'restart'): Promise<IActionResult> {
  const response = await ServerConnection.makeRequest(
    apiUrl(`server/${action}`),
    { method: 'POST' },
    settings()
  );
  return actionResult(action, response.status, await response.text());
}

/**
 * Listen to the lab's state: `onState` gets it now and at every change, until `signal` aborts.
 * A broken stream (the Jupyter server restarting) is opened again after a second.
 */
export async function listen(
  onState: (state: ILabState) => void,
  onError: (message: string) => void,
  signal: AbortSignal
): Promise<void> {
  while (!signal.aborted) {
    try {
      const response = await ServerConnection.makeRequest(apiUrl('events'), { signal }, settings());
      if (!response.ok || !response.body) {
        onError(`the lab panel's event stream answered HTTP ${response.status}`);
      } else {
        const reader = response.body.getReader();
        const decoder = new TextDecoder();
        const parser = new EventStreamParser();
        for (;;) {
          const { done, value } = await reader.read();
          if (done) {
            break;
          }
          for (const data of parser.feed(decoder.decode(value, { stream: true }))) {
            onState(JSON.parse(data) as ILabState);
          }
        }
      }
    } catch (error) {
      if (signal.aborted) {
        return;
      }
      onError(`the lab panel lost its event stream: ${error}`);
    }
    await new Promise(resolve => setTimeout(resolve, 1000));
  }
}
