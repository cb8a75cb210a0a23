/**
 * xiotlab-labpanel: the "IoT Lab" side panel of JupyterLab.
 *
 * The panel listens to the server extension (xiotlab.faces.labpanel) and puts each action's
 * %xmpp line into the active notebook, or into a new one when no notebook is open.
 */

import { ILayoutRestorer, JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { LabIcon } from '@jupyterlab/ui-components';

import { LabPanel } from './panel';

const ICON = new LabIcon({
  name: 'xiotlab:lab',
  svgstr:
    '<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 16 16">' +
    '<g class="jp-icon3" fill="#616161"><circle cx="3" cy="3" r="2"/><circle cx="13" cy="4" r="2"/>' +
    '<circle cx="8" cy="13" r="2"/><path d="M3 3 L13 4 L8 13 Z" fill="none" stroke="#616161" stroke-width="1.2"/></g></svg>'
});

export const COMMAND_OPEN = 'xiotlab:open-lab-panel';

/** Put `line` into a new code cell of the active notebook (or of a new one), below the active cell. */
async function insertLine(app: JupyterFrontEnd, tracker: INotebookTracker, line: string): Promise<void> {
  let panel: NotebookPanel | null = tracker.currentWidget;
  if (!panel) {
    panel = (await app.commands.execute('notebook:create-new')) as NotebookPanel;
    await panel.context.ready;
  }
  await panel.revealed;
  app.shell.activateById(panel.id);
  const notebook = panel.content;
  const active = notebook.activeCell;
  if (!active || active.model.type !== 'code' || active.model.sharedModel.getSource().trim() !== '') {
    await app.commands.execute('notebook:insert-cell-below');
    await app.commands.execute('notebook:change-cell-to-code');
  }
  notebook.activeCell?.model.sharedModel.setSource(line);
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'xiotlab-labpanel:plugin',
  description: 'The IoT Lab side panel: the lab server, its accounts, a live network map, the registry.',
  autoStart: true,
  requires: [INotebookTracker],
  optional: [ILayoutRestorer],
  activate: (
    app: JupyterFrontEnd,
    tracker: INotebookTracker,
    restorer: ILayoutRestorer | null
  ) => {
    const panel = new LabPanel(line => insertLine(app, tracker, line));
    panel.title.icon = ICON;
    app.shell.add(panel, 'left', { rank: 950 });
    restorer?.add(panel, panel.id);
    app.commands.addCommand(COMMAND_OPEN, {
      label: 'Show the IoT Lab panel',
      execute: () => app.shell.activateById(panel.id)
    });
  }
};

export default plugin;
