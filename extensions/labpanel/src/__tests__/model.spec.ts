import {
  actionResult,
  EventStreamParser,
  hasThingActions,
  IAccount,
  ILabState,
  magicLine,
  mapElements,
  serverSummary,
  shortName
} from '../model';

const DOMAIN = 'xiotlab.localhost';

function account(name: string, role: IAccount['role'], online: boolean): IAccount {
  return { jid: `${name}@${DOMAIN}`, name, role, online, show: online ? 'online' : 'offline', status: '', sessions: online ? 1 : 0, hibernating: false };
}

const STATE: ILabState = {
  server: { running: true, home: '/h', domain: DOMAIN, host: '127.0.0.1', port: 5222, pid: 7 },
  domain: DOMAIN,
  accounts: [account('alice', 'owner', true), account('lamp', 'thing', false), account('x', 'unknown', true)],
  friendships: [[`alice@${DOMAIN}`, `lamp@${DOMAIN}`], [`alice@${DOMAIN}`, `ghost@${DOMAIN}`]],
  ownership: [{ thing: `lamp@${DOMAIN}`, owner: `alice@${DOMAIN}` }],
  registry: [],
  problem: null
};

describe('magicLine', () => {
  it('names a lab account by its short name', () => {
    expect(magicLine('read', `lamp@${DOMAIN}`, DOMAIN)).toBe('%xmpp read lamp');
    expect(magicLine('panel', `lamp@${DOMAIN}`, DOMAIN)).toBe('%xmpp panel lamp');
    expect(magicLine('inspect', `lamp@${DOMAIN}`, DOMAIN)).toBe('%xmpp log --peer lamp');
  });

  it('asks plot for the fields, and keeps a foreign JID whole', () => {
    expect(magicLine('plot', 'meter@elsewhere.org', DOMAIN)).toBe('%xmpp plot meter@elsewhere.org FIELD');
    expect(shortName('meter@elsewhere.org', null)).toBe('meter@elsewhere.org');
  });

  it('targets a node of a concentrator after a slash', () => {
    expect(magicLine('read', `gw@${DOMAIN}`, DOMAIN, 'kitchen/fridge')).toBe('%xmpp read gw/kitchen/fridge');
  });
});

describe('mapElements', () => {
  it('makes a node per account with its role and presence', () => {
    const { nodes } = mapElements(STATE);
    expect(nodes.map(n => n.classes)).toEqual(['owner online', 'thing offline', 'unknown online']);
  });

  it('links friends and owners, leaving out edges to accounts the lab does not list', () => {
    const { edges } = mapElements(STATE);
    expect(edges.map(e => e.data.id)).toEqual([
      `friend:alice@${DOMAIN}|lamp@${DOMAIN}`,
      `owns:alice@${DOMAIN}|lamp@${DOMAIN}`
    ]);
    expect(edges[1].data.source).toBe(`alice@${DOMAIN}`);
  });
});

describe('panel helpers', () => {
  it('offers the thing actions to things and unknowns, not owners', () => {
    expect(STATE.accounts.map(hasThingActions)).toEqual([false, true, true]);
  });

  it('summarises the server', () => {
    expect(serverSummary(STATE.server)).toBe(`running: ${DOMAIN} on 127.0.0.1:5222 (pid 7)`);
    expect(serverSummary({ running: false, home: '/h' })).toBe('stopped');
  });
});

describe('EventStreamParser', () => {
  it('cuts events across chunks and drops comments', () => {
    const parser = new EventStreamParser();
    expect(parser.feed('data: {"a"')).toEqual([]);
    expect(parser.feed(': 1}\n\n: still here\n\ndata: 2\r\n\r\n')).toEqual(['{"a": 1}', '2']);
  });

  it('joins the data lines of one event', () => {
    expect(new EventStreamParser().feed('data: a\ndata: b\n\n')).toEqual(['a\nb']);
  });
});

describe('actionResult', () => {
  it('passes the server\'s answer on', () => {
    const ok = actionResult('stop', 200, '{"ok": true, "action": "stop", "output": "stopped", "running": false}');
    expect(ok).toEqual({ ok: true, action: 'stop', output: 'stopped', running: false });
    const slow = actionResult('start', 500, '{"ok": false, "action": "start", "output": "still running", "running": true}');
    expect(slow.ok).toBe(false);
    expect(slow.running).toBe(true);
  });

  it('never shows undefined: Jupyter\'s own message, else the raw answer', () => {
    const refused = actionResult('stop', 403, '{"message": "Forbidden", "reason": null}');
    expect(refused).toEqual({ ok: false, action: 'stop', output: 'HTTP 403: Forbidden', running: false });
    expect(actionResult('start', 502, '<html>Bad Gateway</html>').output).toBe('HTTP 502: <html>Bad Gateway</html>');
    expect(actionResult('start', 500, '').output).toBe('HTTP 500: (no answer)');
    expect(actionResult('start', 500, '{"ok": false}').output).toBe('HTTP 500: {"ok": false}');
  });
});
