/** The IoT Lab side panel: the server, the network map, the accounts and the registry. */

import { Widget } from '@lumino/widgets';

import { apiUrl, listen, serverAction } from './api';
import { NetworkMap } from './map';
import {
  Action,
  ACTION_LABELS,
  ACTIONS,
  hasThingActions,
  IAccount,
  ILabState,
  IRegistryEntry,
  magicLine,
  serverSummary
} from './model';

/** What the panel does with an action's %xmpp line: put it into the notebook. */
export type InsertLine = (line: string) => Promise<void>;

function element<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  className = '',
  text = ''
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) {
    node.className = className;
  }
  if (text) {
    node.textContent = text;
  }
  return node;
}

export class LabPanel extends Widget {
  private readonly status = element('div', 'xiotlab-panel-status', 'connecting…');
  private readonly output = element('pre', 'xiotlab-panel-output');
  private readonly mapBox = element('div', 'xiotlab-map');
  private readonly accounts = element('table', 'xiotlab-panel-accounts');
  private readonly registry = element('table', 'xiotlab-panel-registry');
  private readonly buttons: Record<string, HTMLButtonElement> = {};
  private map: NetworkMap | null = null;
  private state: ILabState | null = null;
  private readonly abort = new AbortController();

  constructor(private readonly insertLine: InsertLine) {
    super();
    this.id = 'xiotlab-lab-panel';
    this.addClass('xiotlab-panel');
    this.title.caption = 'IoT Lab';
    this.build();
    void listen(
      state => this.render(state),
      message => this.say(message, true),
      this.abort.signal
    );
  }

  private build(): void {
    const root = this.node;
    root.appendChild(element('h2', '', 'IoT Lab'));

    const server = element('section', 'xiotlab-panel-server');
    server.appendChild(element('h3', '', 'Server'));
    server.appendChild(this.status);
    const row = element('div', 'xiotlab-panel-buttons');
    for (const action of ['start', 'stop', 'restart'] as const) {
      const button = element('button', `jp-Button xiotlab-${action}`, action);
      button.dataset.action = action;
      button.onclick = () => void this.act(action);
      this.buttons[action] = button;
      row.appendChild(button);
    }
    const log = element('a', 'xiotlab-panel-log', 'lab log');
    log.href = apiUrl('log');
    log.target = '_blank';
    log.rel = 'noopener';
    row.appendChild(log);
    server.appendChild(row);
    server.appendChild(this.output);
    root.appendChild(server);

    const map = element('section', 'xiotlab-panel-network');
    map.appendChild(element('h3', '', 'Network'));
    map.appendChild(this.mapBox);
    map.appendChild(
      element('div', 'xiotlab-panel-legend', '▢ thing  ◯ owner  ◇ unknown · green: online · blue: friends · orange: owns')
    );
    root.appendChild(map);

    const accounts = element('section');
    accounts.appendChild(element('h3', '', 'Accounts'));
    accounts.appendChild(this.accounts);
    root.appendChild(accounts);

    const registry = element('section');
    registry.appendChild(element('h3', '', 'Registry'));
    registry.appendChild(this.registry);
    root.appendChild(registry);
  }

  protected onAfterAttach(): void {
    if (!this.map) {
      this.map = new NetworkMap(this.mapBox);
      if (this.state) {
        this.map.update(this.state);
      }
    }
  }

  protected onAfterShow(): void {
    this.map?.layout();
  }

  protected onResize(): void {
    this.map?.cy.resize();
  }

  dispose(): void {
    this.abort.abort();
    this.map?.dispose();
    super.dispose();
  }

  /** Show a new state of the lab everywhere in the panel. */
  render(state: ILabState): void {
    this.state = state;
    const server = state.server;
    this.status.textContent = serverSummary(server);
    this.status.title = state.problem ?? '';
    this.status.classList.toggle('xiotlab-problem', state.problem !== null);
    if (state.problem) {
      this.status.textContent += ' · presence unknown (hover for why)';
    }
    this.status.dataset.running = String(server.running);
    this.node.dataset.running = String(server.running);
    this.buttons.start.disabled = server.running;
    this.buttons.stop.disabled = !server.running;
    this.renderAccounts(state);
    this.renderRegistry(state);
    this.map?.update(state);
  }

  private say(message: string, error: boolean): void {
    this.output.textContent = message;
    this.output.classList.toggle('xiotlab-error', error);
  }

  private async act(action: 'start' | 'stop' | 'restart'): Promise<void> {
    Object.values(this.buttons).forEach(b => (b.disabled = true));
    this.say(`${action}…`, false);
    try {
      const result = await serverAction(action);
      const outcome = result.ok ? '' : result.running ? `${action} has not ended yet:\n` : `${action} failed:\n`;
      this.say(outcome + result.output, !result.ok);
    } catch (error) {
      this.say(`${action} failed: ${error}`, true);
    } finally {
      Object.values(this.buttons).forEach(b => (b.disabled = false));
      if (this.state) {
        this.render(this.state);
      }
    }
  }

  private actionButtons(jid: string, node: string | null): HTMLElement {
    const box = element('div', 'xiotlab-panel-actions');
    for (const action of ACTIONS) {
      const button = element('button', `jp-Button xiotlab-action-${action}`, ACTION_LABELS[action]);
      button.dataset.action = action;
      button.title = magicLine(action as Action, jid, this.state?.domain ?? null, node);
      button.onclick = () => void this.insertLine(button.title);
      box.appendChild(button);
    }
    return box;
  }

  private renderAccounts(state: ILabState): void {
    const body = this.accounts.tBodies[0] ?? this.accounts.createTBody();
    body.replaceChildren();
    if (!state.accounts.length) {
      body.insertRow().appendChild(element('td', 'xiotlab-empty', 'no accounts yet'));
    }
    for (const account of state.accounts) {
      body.appendChild(this.accountRow(account));
    }
  }

  /** One account: presence dot, name, role and state on a line, its status text, the thing actions. */
  private accountRow(account: IAccount): HTMLTableRowElement {
    const row = element('tr');
    row.dataset.jid = account.jid;
    row.dataset.role = account.role;
    row.dataset.online = String(account.online);
    const cell = element('td');
    const line = element('div', 'xiotlab-panel-line');
    line.appendChild(element('span', `xiotlab-dot ${account.online ? 'xiotlab-online' : 'xiotlab-offline'}`));
    const name = element('span', 'xiotlab-name', account.name);
    name.title = account.jid;
    line.appendChild(name);
    line.appendChild(element('span', `xiotlab-role xiotlab-role-${account.role}`, account.role));
    const show = account.hibernating ? `${account.show} (hibernating)` : account.show;
    line.appendChild(element('span', 'xiotlab-presence', show));
    cell.appendChild(line);
    if (account.status) {
      cell.appendChild(element('div', 'xiotlab-status-text', account.status));
    }
    if (hasThingActions(account)) {
      cell.appendChild(this.actionButtons(account.jid, null));
    }
    row.appendChild(cell);
    return row;
  }

  private renderRegistry(state: ILabState): void {
    const body = this.registry.tBodies[0] ?? this.registry.createTBody();
    body.replaceChildren();
    if (!state.registry.length) {
      body.insertRow().appendChild(element('td', 'xiotlab-empty', 'nothing registered'));
    }
    for (const entry of state.registry) {
      body.appendChild(this.registryRow(entry));
    }
  }

  /** One entry of the registry: the thing (or node), who claimed it, its tags, the thing actions. */
  private registryRow(entry: IRegistryEntry): HTMLTableRowElement {
    const row = element('tr');
    row.dataset.jid = entry.jid;
    const cell = element('td');
    const line = element('div', 'xiotlab-panel-line');
    line.appendChild(element('span', 'xiotlab-name', entry.node ? `${entry.jid} / ${entry.node}` : entry.jid));
    const owner = entry.claimed ? `owned by ${entry.owner ?? '?'}` : entry.selfOwned ? 'self-owned' : 'unclaimed';
    line.appendChild(element('span', 'xiotlab-presence', owner + (entry.public ? ', public' : '')));
    cell.appendChild(line);
    const tags = Object.entries(entry.tags)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ');
    if (tags) {
      cell.appendChild(element('div', 'xiotlab-tags', tags));
    }
    cell.appendChild(this.actionButtons(entry.jid, entry.node));
    row.appendChild(cell);
    return row;
  }
}
