/**
 * The lab's state as the server extension sends it (xiotlab/faces/labpanel/snapshot.py), and the
 * pure functions the panel makes of it: the network map's elements, the %xmpp line of an action,
 * and the server-sent events cut out of a byte stream. No DOM here: jest tests all of it.
 */

export type Role = 'thing' | 'owner' | 'unknown';

export interface IAccount {
  jid: string;
  name: string;
  role: Role;
  online: boolean;
  show: string;
  status: string;
  sessions: number;
  hibernating: boolean;
}

export interface IRegistryEntry {
  jid: string;
  node: string | null;
  source: string | null;
  partition: string | null;
  claimed: boolean;
  owner: string | null;
  public: boolean;
  selfOwned: boolean;
  tags: Record<string, string | number>;
}

export interface IServerStatus {
  running: boolean;
  home: string;
  message?: string;
  domain?: string;
  host?: string;
  port?: number;
  pid?: number;
  services?: Record<string, { jid: string; running: string }>;
  mqtt?: { running: boolean; url: string | null };
}

export interface ILabState {
  server: IServerStatus;
  domain: string | null;
  accounts: IAccount[];
  friendships: [string, string][];
  ownership: { thing: string; owner: string }[];
  registry: IRegistryEntry[];
  /** Why presence is unknown while the server runs (its admin socket did not answer), else null. */
  problem: string | null;
}

/** The actions offered for a thing, each writing one %xmpp line. */
export const ACTIONS = ['read', 'plot', 'panel', 'inspect'] as const;
export type Action = (typeof ACTIONS)[number];

export const ACTION_LABELS: Record<Action, string> = {
  read: 'read',
  plot: 'plot',
  panel: 'control panel',
  inspect: 'inspect'
};

/** How a notebook names an account: its short name on the lab's domain, its JID elsewhere. */
export function shortName(jid: string, domain: string | null): string {
  const [local, host] = jid.split('@');
  return domain && host === domain ? local : jid;
}

/**
 * The %xmpp line of an action on a thing (or on node `node` of a concentrator), as
 * xiotlab/faces/magics.py parses it. `plot` needs the fields to plot: FIELD stands for them.
 */
export function magicLine(
  action: Action,
  jid: string,
  domain: string | null,
  node: string | null = null
): string {
  const target = shortName(jid, domain) + (node ? `/${node}` : '');
  switch (action) {
    case 'read':
      return `%xmpp read ${target}`;
    case 'plot':
      return `%xmpp plot ${target} FIELD`;
    case 'panel':
      return `%xmpp panel ${target}`;
    case 'inspect':
      return `%xmpp log --peer ${shortName(jid, domain)}`;
  }
}

/** Whether an account gets the thing actions: things, and accounts whose role the lab cannot tell. */
export function hasThingActions(account: IAccount): boolean {
  return account.role !== 'owner';
}

export interface IMapNode {
  data: { id: string; label: string; role: Role; online: boolean };
  classes: string;
}

export interface IMapEdge {
  data: { id: string; source: string; target: string; kind: 'friend' | 'owns' };
  classes: string;
}

/** The map's nodes (every account) and edges (friendships, and owner -> thing for ownership). */
export function mapElements(state: ILabState): { nodes: IMapNode[]; edges: IMapEdge[] } {
  const known = new Set(state.accounts.map(a => a.jid));
  const nodes = state.accounts.map(a => ({
    data: { id: a.jid, label: a.name, role: a.role, online: a.online },
    classes: `${a.role} ${a.online ? 'online' : 'offline'}`
  }));
  const edges: IMapEdge[] = [];
  for (const [a, b] of state.friendships) {
    if (known.has(a) && known.has(b)) {
      edges.push({ data: { id: `friend:${a}|${b}`, source: a, target: b, kind: 'friend' }, classes: 'friend' });
    }
  }
  for (const { thing, owner } of state.ownership) {
    if (known.has(thing) && known.has(owner)) {
      edges.push({
        data: { id: `owns:${owner}|${thing}`, source: owner, target: thing, kind: 'owns' },
        classes: 'owns'
      });
    }
  }
  return { nodes, edges };
}

export interface IActionResult {
  ok: boolean;
  action: string;
  output: string;
  /** The action had not ended when the server answered: it goes on, and the next one waits for it. */
  running?: boolean;
}

/**
 * What a start, stop or restart answered, from the response's status and text: the server's
 * `output`, else Jupyter's own error `message` (a refused request), else the raw answer.
 * Never an "undefined" in the panel.
 */
export function actionResult(action: string, status: number, text: string): IActionResult {
  let body: unknown = null;
  try {
    body = JSON.parse(text);
  } catch {
    body = null;
  }
  const fields = (body && typeof body === 'object' ? body : {}) as Record<string, unknown>;
  const ok = status >= 200 && status < 300 && fields.ok === true;
  const output =
    typeof fields.output === 'string'
      ? fields.output
      : typeof fields.message === 'string' && fields.message
        ? `HTTP ${status}: ${fields.message}`
        : `HTTP ${status}: ${text || '(no answer)'}`;
  return { ok, action, output, running: fields.running === true };
}

/** One line describing the server: where it runs, or why it does not. */
export function serverSummary(server: IServerStatus): string {
  if (!server.running) {
    return 'stopped';
  }
  return `running: ${server.domain} on ${server.host}:${server.port} (pid ${server.pid})`;
}

/**
 * Cuts a server-sent-events stream into the data of its events. Feed it text as it arrives;
 * it returns the events completed so far (comments, the heartbeats, are dropped).
 */
export class EventStreamParser {
  private buffer = '';

  feed(text: string): string[] {
    this.buffer += text.replace(/\r\n/g, '\n');
    const events: string[] = [];
    let end: number;
    while ((end = this.buffer.indexOf('\n\n')) >= 0) {
      const block = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 2);
      const data = block
        .split('\n')
        .filter(line => line.startsWith('data:'))
        .map(line => line.slice(5).replace(/^ /, ''));
      if (data.length) {
        events.push(data.join('\n'));
      }
    }
    return events;
  }
}
