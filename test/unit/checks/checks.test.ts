/**
 * Every check of docs/checks.md as a pure function of its input: each case is a table row of layers
 * (entry lists recorded by test/helpers/check-input.ts as the inspector records them) and
 * config, and each assertion is on the exact outcome (pass, description, files).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ALL_CHECKS } from '../../../src/checks/index.js';
import type { CheckOutcome } from '../../../src/checks/types.js';
import type { RuntimeConfig } from '../../../src/image/config.js';
import type { ImageName } from '../../../src/image/types.js';
import { checkInput, testDigest, type InputSpec, type TestEntry } from '../../helpers/check-input.js';

const OS_RELEASE = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nID=debian\n';
const PASSWD = 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\nadmin:x:0:0::/root:/bin/sh\n';
const GROUP = 'root:x:0:\napp:x:1000:\nwheel:x:0:\n';
const D1 = testDigest(0);
const D2 = testDigest(1);

const file = (path: string, content = '', mode = 0o644): TestEntry => ({ type: 'file', path, content, mode });
const exe = (path: string, mode = 0o755): TestEntry => ({ type: 'file', path, content: 'x', mode });
const link = (path: string, target: string): TestEntry => ({ type: 'symlink', path, target });
// A tar writer gives a hard link its inode's mode: these link executables.
const hard = (path: string, target: string, mode = 0o755): TestEntry => ({ type: 'hardlink', path, target, mode });
const dir = (path: string, mode = 0o755): TestEntry => ({ type: 'dir', path, mode });

const BASE: TestEntry[] = [file('etc/os-release', OS_RELEASE), file('etc/passwd', PASSWD), file('etc/group', GROUP), exe('app/server')];
const GOOD_CONFIG: RuntimeConfig = {
  User: 'app:app',
  Labels: { vendor: 'Example', version: '1.0', component: 'backend', product: 'shop' },
  Cmd: ['/app/server'],
  ExposedPorts: { '8080/tcp': {} },
};

/** Runs check `id` on an image of `layers` (the compliant base first unless `bare`). */
/** Config fields a case sets over GOOD_CONFIG; `undefined` removes the field (an image without it). */
type ConfigOverride = { readonly [K in keyof RuntimeConfig]?: RuntimeConfig[K] | undefined };

type RunSpec = Partial<Omit<InputSpec, 'config'>> & {
  readonly config?: ConfigOverride;
  readonly bare?: boolean;
  readonly extra?: readonly TestEntry[];
};

function outcomeOf(id: string, spec: RunSpec): CheckOutcome | Promise<CheckOutcome> {
  const check = ALL_CHECKS.find((c) => c.id === id);
  assert.ok(check, id);
  const layers = spec.layers ?? [{ entries: spec.bare ? (spec.extra ?? []) : [...BASE, ...(spec.extra ?? [])] }];
  const config = Object.fromEntries(Object.entries({ ...GOOD_CONFIG, ...spec.config }).filter(([, v]) => v !== undefined)) satisfies Record<
    string,
    unknown
  > as RuntimeConfig;
  return check.run(checkInput({ ...spec, layers, config }));
}

/** Runs check `id` (one that answers at once: not a file check). */
function run(id: string, spec: RunSpec = {}): CheckOutcome {
  const outcome = outcomeOf(id, spec);
  assert.ok(!(outcome instanceof Promise), `${id} is a file check: use runFile`);
  return outcome;
}

/** Runs file check `id` (7–16: they yield to the event loop while they work). */
async function runFile(id: string, spec: RunSpec = {}): Promise<CheckOutcome> {
  return outcomeOf(id, spec);
}
const passes = (description: string): CheckOutcome => ({ pass: true, description });
const fails = (description: string, files?: Array<Record<string, string[]>>): CheckOutcome =>
  files ? { pass: false, description, files } : { pass: false, description };

describe('the compliant image and the report order', () => {
  it('passes every check', async () => {
    const input = checkInput({ layers: [{ entries: BASE }], config: GOOD_CONFIG });
    assert.deepEqual(
      (await Promise.all(ALL_CHECKS.map(async (c) => [c.id, (await c.run(input)).pass] as const)))
        .filter(([, pass]) => !pass)
        .map(([id]) => id),
      [],
    );
  });

  it('keeps the ids, titles and severities of docs/checks.md in order', () => {
    assert.deepEqual(
      ALL_CHECKS.map((c) => [c.id, c.title, c.severity]),
      [
        ['tag-latest', 'Tag :latest', 'Critical'],
        ['exposed-ports', 'Critical ports in the instructions EXPOSE', 'High'],
        ['default-user', 'Default user and group', 'Critical'],
        ['labels', 'Image LABEL metadata', 'Low'],
        ['layer-count', 'The number of layers in the image', 'Low'],
        ['startup-command', 'Parameters CMD, ENTRYPOINT', 'Low'],
        ['suid', 'Checking for a suid bit file', 'Critical'],
        ['sgid', 'Checking for a sgid bit file', 'Critical'],
        ['sudo', 'Checking for a sudo file', 'Critical'],
        ['su', 'Checking for a su file', 'Critical'],
        ['sshd', 'Checking for a sshd file', 'Critical'],
        ['ssh', 'Checking for a ssh client file', 'Critical'],
        ['nc', 'Checking for a nc file', 'Critical'],
        ['netcat', 'Checking for a netcat file', 'Critical'],
        ['socat', 'Checking for a socat file', 'Critical'],
        ['compilers', 'Compilers in the image', 'Medium'],
        ['os-type', 'Checking for OS type', 'Informational'],
      ],
    );
  });
});

describe('check 1 Tag :latest', () => {
  const cases: Array<[ImageName, CheckOutcome]> = [
    [{ display: 'app:1.0', name: 'app', repository: 'app', tag: '1.0', tagOrigin: 'reference' }, passes('Image app:1.0 has tag: 1.0')],
    [
      { display: 'app:latest', name: 'app', repository: 'app', tag: 'latest', tagOrigin: 'reference' },
      fails('Image app:latest has tag: latest'),
    ],
    [{ display: 'app', name: 'app', repository: 'app', tagOrigin: 'none' }, fails('Image app: tag not defined')],
    [
      { display: 'app@sha256:abc', name: 'app', repository: 'app', digest: 'sha256:abc', tagOrigin: 'reference' },
      passes('Image app@sha256:abc is pinned by digest sha256:abc'),
    ],
  ];
  for (const [name, expected] of cases) {
    it(name.display, () => assert.deepEqual(run('tag-latest', { name }), expected));
  }
});

describe('check 2 EXPOSE, as the runtime parses the keys', () => {
  const cases: Array<[string[], string | undefined]> = [
    [['8080/tcp', '161/tcp', '22/udp', '2375/sctp'], undefined],
    [
      ['2375/tcp', '22', '23/tcp', '161/udp', '2376/tcp', '3389/tcp', '80/tcp'],
      '22/tcp (ssh), 23/tcp (telnet), 161/udp (snmp), 2375/tcp (docker), 2376/tcp (docker (TLS)), 3389/tcp (rdp)',
    ],
    // The port is an integer: leading zeros do not hide it.
    [['0022/tcp'], '22/tcp (ssh, exposed as 0022/tcp)'],
    [['023'], '23/tcp (telnet, exposed as 023)'],
    [['02375/tcp', '2375/tcp'], '2375/tcp (docker, exposed as 02375/tcp)'],
    // The protocol is lowercased; an empty one is tcp.
    [['22/TCP', '161/Udp'], '22/tcp (ssh, exposed as 22/TCP), 161/udp (snmp, exposed as 161/Udp)'],
    [['22/'], '22/tcp (ssh, exposed as 22/)'],
    // A range exposes every port in it.
    [['20-25/tcp'], '22/tcp (ssh, exposed as 20-25/tcp), 23/tcp (telnet, exposed as 20-25/tcp)'],
    [['1-65535/udp'], '161/udp (snmp, exposed as 1-65535/udp)'],
    // Keys the runtime rejects expose nothing.
    [['+22/tcp', ' 22/tcp', '22 /tcp', '22/foo', '25-20/tcp', '70000/tcp', '-22', '/tcp', '0x16/tcp'], undefined],
  ];
  for (const [ports, found] of cases) {
    it(`EXPOSE ${ports.join(' ')}`, () => {
      const outcome = run('exposed-ports', { config: { ExposedPorts: Object.fromEntries(ports.map((p) => [p, {}])) } });
      assert.deepEqual(
        outcome,
        found === undefined
          ? passes('The image does not have critical ports in the EXPOSE statement')
          : fails(`The image has critical ports in the EXPOSE statement: ${found}`),
      );
    });
  }
});

describe('check 3 Default user and group, resolved as runc resolves them', () => {
  const longName = 'x'.repeat(65_536);
  const cases: Array<
    [
      string,
      { user: string | undefined; passwd?: string | null; group?: string | null; extra?: TestEntry[]; layers?: TestEntry[][] },
      CheckOutcome,
    ]
  > = [
    [
      'names in the files',
      { user: 'app:app' },
      passes('The default user and group are app:app (uid 1000 in /etc/passwd, gid 1000 in /etc/group)'),
    ],
    ['numeric ids', { user: '1000:1000' }, passes('The default user and group are 1000:1000')],
    ['no USER', { user: undefined }, fails('User not defined')],
    ['empty USER', { user: '' }, fails('User not defined')],
    ['USER of white space only', { user: '  ' }, fails('User not defined')],
    ['no group', { user: 'app' }, fails('Default group not defined (USER app)')],
    ['no user, a group', { user: ':app' }, fails('User not defined (USER :app)')],
    ['root by name', { user: 'root:app' }, fails('The default user is root: root (USER root:app)')],
    ['uid 0', { user: '0:app' }, fails('The default user is root: 0 (USER 0:app)')],
    // The original compared the user twice: USER 1000:0 passed (a defect of the original tool, docs/checks.md).
    ['gid 0', { user: '1000:0' }, fails('The default group is root: 0 (USER 1000:0)')],
    ['group root by name', { user: 'app:root' }, fails('The default group is root: root (USER app:root)')],
    ['a user with uid 0', { user: 'admin:app' }, fails('The default user is root: admin, which has uid 0 in /etc/passwd (USER admin:app)')],
    [
      'a group with gid 0',
      { user: 'app:wheel' },
      fails('The default group is root: wheel, which has gid 0 in /etc/group (USER app:wheel)'),
    ],
    ['root without a group', { user: 'root' }, fails('The default user is root: root. Default group not defined (USER root)')],
    // Go's Atoi: signs and leading zeros are numbers, so these are uid 0.
    ['+0', { user: '+0:app' }, fails('The default user is root: +0 (uid 0) (USER +0:app)')],
    ['-0', { user: '-0:app' }, fails('The default user is root: -0 (uid 0) (USER -0:app)')],
    [
      '0000',
      { user: '0000:0000' },
      fails('The default user is root: 0000 (uid 0). The default group is root: 0000 (gid 0) (USER 0000:0000)'),
    ],
    // A uid field Atoi rejects, or a missing one, is 0 for the runtime.
    [
      'uid field abc',
      { user: 'svc:app', passwd: `${PASSWD}svc:x:abc:1000::/:/bin/sh\n` },
      fails(
        "The default user is root: svc, which has uid 0 in /etc/passwd (uid field 'abc' on line 4 is not a number runc can parse: it reads it as 0) (USER svc:app)",
      ),
    ],
    [
      'empty uid field',
      { user: 'svc:app', passwd: 'svc:x::\n' },
      fails(
        "The default user is root: svc, which has uid 0 in /etc/passwd (uid field '' on line 1 is not a number runc can parse: it reads it as 0) (USER svc:app)",
      ),
    ],
    [
      'no uid field',
      { user: 'svc:app', passwd: 'svc:x\n' },
      fails('The default user is root: svc, which has uid 0 in /etc/passwd (line 1 has no uid field: runc reads it as 0) (USER svc:app)'),
    ],
    [
      'a space in the uid field',
      { user: 'svc:app', passwd: 'svc:x: 1000:1000\n' },
      fails(
        "The default user is root: svc, which has uid 0 in /etc/passwd (uid field ' 1000' on line 1 is not a number runc can parse: it reads it as 0) (USER svc:app)",
      ),
    ],
    [
      'a gid field Atoi rejects',
      { user: 'app:staff', group: 'staff:x:1O0:\n' },
      fails(
        "The default group is root: staff, which has gid 0 in /etc/group (gid field '1O0' on line 1 is not a number runc can parse: it reads it as 0) (USER app:staff)",
      ),
    ],
    [
      'a uid that is 0 in 32 bits',
      { user: 'svc:app', passwd: 'svc:x:4294967296:1000::/:/bin/sh\n' },
      fails('The default user is root: svc, which has uid 0 (4294967296 truncated to 32 bits) in /etc/passwd (USER svc:app)'),
    ],
    [
      'a uid beyond int64 (Atoi clamps, then 32 bits)',
      { user: 'svc:app', passwd: 'svc:x:-99999999999999999999:1000\n' },
      fails(
        "The default user is root: svc, which has uid 0 (-9223372036854775808 truncated to 32 bits) in /etc/passwd (uid field '-99999999999999999999' on line 1 is not a number runc can parse: it reads it as -9223372036854775808) (USER svc:app)",
      ),
    ],
    // Lines are trimmed; the first matching line wins.
    [
      'leading white space',
      { user: 'svc:app', passwd: '  \t svc:x:0:0::/:/bin/sh  \n' },
      fails('The default user is root: svc, which has uid 0 in /etc/passwd (USER svc:app)'),
    ],
    [
      'first match wins (root first)',
      { user: 'svc:app', passwd: 'svc:x:0:0\nsvc:x:1000:1000\n' },
      fails('The default user is root: svc, which has uid 0 in /etc/passwd (USER svc:app)'),
    ],
    [
      'first match wins (root second)',
      { user: 'svc:app', passwd: 'svc:x:1000:1000\nsvc:x:0:0\n' },
      passes('The default user and group are svc:app (uid 1000 in /etc/passwd, gid 1000 in /etc/group)'),
    ],
    [
      'CRLF lines',
      { user: 'svc:app', passwd: 'svc:x:1000:1000\r\n' },
      passes('The default user and group are svc:app (uid 1000 in /etc/passwd, gid 1000 in /etc/group)'),
    ],
    [
      'group comments are skipped, passwd ones are names',
      { user: '#app:app', passwd: '#app:x:0:0\n', group: '#app:x:0:\napp:x:1000:\n' },
      fails('The default user is root: "#app", which has uid 0 in /etc/passwd (USER #app:app)'),
    ],
    // A name must be in the file, or the runtime refuses to start the container.
    [
      'an unknown name',
      { user: 'ghost:app' },
      fails('user ghost not found in /etc/passwd: the container would not start (USER ghost:app)'),
    ],
    [
      'an unknown group',
      { user: 'app:ghosts' },
      fails('group ghosts not found in /etc/group: the container would not start (USER app:ghosts)'),
    ],
    [
      'white space is not trimmed: " 0" is a name',
      { user: ' 0:app' },
      fails('user " 0" not found in /etc/passwd: the container would not start (USER  0:app)'),
    ],
    [
      'Go does not trim a BOM',
      { user: 'svc:app', passwd: '\uFEFFsvc:x:0:0\n' },
      fails('user svc not found in /etc/passwd: the container would not start (USER svc:app)'),
    ],
    [
      'no /etc/passwd, a name',
      { user: 'app:app', passwd: null },
      fails('user app not found in /etc/passwd (the image has no /etc/passwd): the container would not start (USER app:app)'),
    ],
    [
      'no /etc/group, a name',
      { user: 'app:app', group: null },
      fails('group app not found in /etc/group (the image has no /etc/group): the container would not start (USER app:app)'),
    ],
    [
      'no files, numeric ids (distroless)',
      { user: '65532:65532', passwd: null, group: null },
      passes('The default user and group are 65532:65532'),
    ],
    [
      'a third field is ignored, as runc does',
      { user: 'app:app:root' },
      passes('The default user and group are app:app (uid 1000 in /etc/passwd, gid 1000 in /etc/group)'),
    ],
    // Numeric ids outside runc's range.
    [
      'a uid beyond 2^31-1',
      { user: '4294967296:app' },
      fails(
        'The default user 4294967296 is outside 0–2147483647: runc refuses to start the container and runtimes that truncate it to 32 bits run it as uid 0 (root) (USER 4294967296:app)',
      ),
    ],
    [
      'a negative gid',
      { user: 'app:-1' },
      fails(
        'The default group -1 is outside 0–2147483647: runc refuses to start the container and runtimes that truncate it to 32 bits run it as gid 4294967295 (USER app:-1)',
      ),
    ],
    // Files that cannot be read with certainty fail, never pass.
    [
      '/etc/passwd is a symlink loop',
      { user: 'app:app', passwd: null, extra: [link('etc/passwd', 'passwd')] },
      fails('The default user app cannot be resolved: more than 40 symlinks (a loop) from /etc/passwd (USER app:app)'),
    ],
    [
      '/etc/passwd is a directory',
      { user: 'app:app', passwd: null, extra: [dir('etc/passwd/')] },
      fails('The default user app cannot be resolved: /etc/passwd is a directory (USER app:app)'),
    ],
    [
      '/etc/group is a hard link to nothing',
      { user: 'app:app', group: null, extra: [hard('etc/group', 'gone/group')] },
      fails('The default group app cannot be resolved: /etc/group is a hard link to /gone/group, which is not in the image (USER app:app)'),
    ],
    [
      'a passwd line of 64 KiB',
      { user: 'app:app', passwd: `${PASSWD}${longName}\n` },
      fails(
        'The default user cannot be resolved: line 4 of /etc/passwd is longer than 65535 bytes, which runc cannot read (bufio.Scanner: token too long), so the container would not start (USER app:app)',
      ),
    ],
    [
      'a passwd line of 64 KiB - 1',
      { user: 'app:app', passwd: `${PASSWD}${longName.slice(1)}\n` },
      passes('The default user and group are app:app (uid 1000 in /etc/passwd, gid 1000 in /etc/group)'),
    ],
    [
      'a group line of 64 KiB is fine (bufio.Reader)',
      { user: 'app:app', group: `${GROUP}${longName}\n` },
      passes('The default user and group are app:app (uid 1000 in /etc/passwd, gid 1000 in /etc/group)'),
    ],
    // Links and layers: what the runtime opens is what counts.
    [
      'a uid-0 user behind /etc → /private/etc',
      {
        user: 'admin:app',
        layers: [[file('private/etc/passwd', 'admin:x:0:0\n'), file('private/etc/group', GROUP)], [link('etc', 'private/etc')]],
      },
      fails('The default user is root: admin, which has uid 0 in /etc/passwd (USER admin:app)'),
    ],
    [
      'a later layer replaces /etc/passwd',
      { user: 'svc:app', layers: [BASE, [file('etc/passwd', 'svc:x:0:0\n')]] },
      fails('The default user is root: svc, which has uid 0 in /etc/passwd (USER svc:app)'),
    ],
    [
      'a later layer deletes /etc/passwd',
      { user: 'app:app', layers: [BASE, [file('etc/.wh.passwd')]] },
      fails('user app not found in /etc/passwd (the image has no /etc/passwd): the container would not start (USER app:app)'),
    ],
    [
      'a hard link keeps the content it was made with',
      {
        user: 'svc:app',
        layers: [
          [file('etc/group', GROUP), file('tmp/p', 'svc:x:0:0\n'), hard('etc/passwd', 'tmp/p')],
          [file('tmp/p', 'svc:x:1000:1000\n')],
        ],
      },
      fails('The default user is root: svc, which has uid 0 in /etc/passwd (USER svc:app)'),
    ],
  ];
  for (const [what, c, expected] of cases) {
    it(`${what}: USER ${JSON.stringify(c.user)}`, () => {
      const entries = [
        ...BASE.filter((e) => !((c.passwd !== undefined && e.path === 'etc/passwd') || (c.group !== undefined && e.path === 'etc/group'))),
        ...(c.extra ?? []),
      ];
      if (typeof c.passwd === 'string') entries.push(file('etc/passwd', c.passwd));
      if (typeof c.group === 'string') entries.push(file('etc/group', c.group));
      const layers = (c.layers ?? [entries]).map((e) => ({ entries: e }));
      assert.deepEqual(run('default-user', { layers, config: { User: c.user } }), expected);
    });
  }

  it('a truncated /etc/passwd: a name in the kept part resolves, one past it cannot be', () => {
    const passwd = `app:x:1000:1000\n${'filler:x:1:1\n'.repeat(10)}late:x:1001:1001\n`;
    const spec = {
      layers: [{ entries: [file('etc/passwd', passwd), file('etc/group', 'app:x:1000:\nlate:x:1001:\n')] }],
      maxWatchedBytes: 64,
    };
    assert.deepEqual(
      run('default-user', { ...spec, config: { User: 'app:app' } }),
      passes('The default user and group are app:app (uid 1000 in /etc/passwd, gid 1000 in /etc/group)'),
    );
    assert.deepEqual(
      run('default-user', { ...spec, config: { User: 'late:late' } }),
      fails(
        `The default user late cannot be resolved: it is not in the part of /etc/passwd the scan kept (the file has ${passwd.length} bytes) (USER late:late)`,
      ),
    );
    // The kept part ends in the middle of a line (`svc:x:1000` of `svc:x:1000:1000`): that line is not trusted.
    const cut = [file('etc/passwd', 'app:x:1000:1000\nsvc:x:1000:1000\n'), file('etc/group', 'app:x:1000:\n')];
    assert.deepEqual(
      run('default-user', { layers: [{ entries: cut }], maxWatchedBytes: 26, config: { User: 'svc:app' } }),
      fails(
        'The default user svc cannot be resolved: it is not in the part of /etc/passwd the scan kept (the file has 32 bytes) (USER svc:app)',
      ),
    );
  });

  it('a layer that was not scanned: names cannot be resolved with certainty unless allowed; numeric ids can', () => {
    const notScanned = [{ digest: 'sha256:' + 'f'.repeat(64), reason: 'foreign layer' }];
    const layers = [{ entries: BASE }];
    const note = `layer sha256:${'f'.repeat(64)} not scanned (foreign layer)`;
    assert.deepEqual(
      run('default-user', { layers, notScanned }),
      fails(`user app and group app cannot be resolved with certainty: ${note} (USER app:app)`),
    );
    assert.deepEqual(
      run('default-user', { layers, notScanned, allowUnscannedLayers: true }),
      passes(
        `The default user and group are app:app (uid 1000 in /etc/passwd, gid 1000 in /etc/group) (the final filesystem may be incomplete: ${note})`,
      ),
    );
    assert.deepEqual(
      run('default-user', { layers, notScanned, config: { User: '1000:1000' } }),
      passes(`The default user and group are 1000:1000 (the final filesystem may be incomplete: ${note})`),
    );
  });
});

describe('checks 4–6 (config only)', () => {
  it('LABEL, layer count, CMD/ENTRYPOINT', () => {
    assert.deepEqual(run('labels', { config: { Labels: null } }), fails('LABEL is not defined'));
    assert.deepEqual(
      run('labels', { config: { Labels: { 'org.opencontainers.image.vendor': 'Example', 'org.opencontainers.image.version': '2' } } }),
      passes('LABEL is defined (2 label(s)); recommended labels missing: component, product'),
    );
    assert.deepEqual(run('layer-count'), passes('Number of layers in the image 1'));
    assert.deepEqual(
      run('layer-count', { layers: [{ entries: BASE }, { entries: [] }], notScanned: [{ digest: 'sha256:f', reason: 'foreign layer' }] }),
      fails('Number of layers in the image 3. It is necessary to minimize the number of layers if possible'),
    );
    assert.deepEqual(
      run('startup-command', { config: { Entrypoint: ['/app/server'], Cmd: ['--port', "it's"] } }),
      passes(`The image has startup parameters set in ENTRYPOINT ['/app/server'] CMD ['--port', "it's"]`),
    );
    assert.deepEqual(
      run('startup-command', { config: { Cmd: [], Entrypoint: null } }),
      fails('The image has no startup parameters: neither ENTRYPOINT nor CMD is set'),
    );
  });
});

describe('checks 7 and 8: suid / sgid', () => {
  it('lists setuid and setgid non-directories per layer digest; a setgid directory is not a finding', async () => {
    const layers = [
      { entries: [...BASE, exe('./usr/bin/passwd', 0o4755), dir('var/mail/', 0o2775)] },
      {
        entries: [
          exe('/usr/bin/chage', 0o2755),
          exe('usr/bin/both', 0o6755),
          { type: 'hardlink', path: 'usr/bin/passwd2', target: 'usr/bin/both', mode: 0o6755 } as const,
        ],
      },
    ];
    assert.deepEqual(
      await runFile('suid', { layers }),
      fails('Found file', [{ [D1]: ['/usr/bin/passwd'] }, { [D2]: ['/usr/bin/both', '/usr/bin/passwd2'] }]),
    );
    assert.deepEqual(
      await runFile('sgid', { layers }),
      fails('Found file', [{ [D2]: ['/usr/bin/both', '/usr/bin/chage', '/usr/bin/passwd2'] }]),
    );
    assert.deepEqual(await runFile('sgid', { extra: [dir('var/mail/', 0o2775)] }), passes('File(s) sgid bit not found'));
  });

  it('says how many findings a layer had beyond those kept; the list holds only real paths', async () => {
    const extra = Array.from({ length: 5 }, (_, i) => exe(`usr/bin/s${i}`, 0o4755));
    assert.deepEqual(await runFile('suid', { extra, maxFindings: 2 }), {
      ...fails(`Found file (… and 3 more in layer ${D1})`, [{ [D1]: ['/usr/bin/s0', '/usr/bin/s1'] }]),
      counts: { [D1]: 5 },
    });
  });

  it('a file whited out later is reported where it was added, noted as removed', async () => {
    const layers = [
      { entries: [...BASE, exe('usr/bin/sudo', 0o4755), exe('opt/t/bin/x', 0o4755)] },
      { entries: [file('usr/bin/.wh.sudo'), file('opt/.wh..wh..opq')] },
    ];
    assert.deepEqual(
      await runFile('suid', { layers }),
      fails(
        "Found file (removed from the final filesystem by a later layer, still present in the image's layers: /opt/t/bin/x, /usr/bin/sudo)",
        [{ [D1]: ['/opt/t/bin/x', '/usr/bin/sudo'] }],
      ),
    );
  });
});

const PROGRAM_CHECKS: ReadonlyArray<[string, string, string[]]> = [
  ['sudo', 'sudo', ['sudo', 'sudoedit']],
  ['su', 'su', ['su']],
  ['sshd', 'sshd', ['sshd']],
  ['ssh', 'ssh client', ['ssh']],
  ['nc', 'nc', ['nc', 'ncat', 'nc.openbsd', 'nc.traditional']],
  ['netcat', 'netcat', ['netcat']],
  ['socat', 'socat', ['socat']],
];

describe('checks 9–15: forbidden programs', () => {
  for (const [id, label, names] of PROGRAM_CHECKS) {
    it(`${id}: executables and hard links anywhere, symlinks in PATH to an executable; nothing else`, async () => {
      const name = names[0] as string;
      const clean = [
        // Not programs: a non-executable file, a directory, a name that contains the word,
        // symlinks outside PATH, a PATH symlink that leads nowhere or to a non-executable.
        file(`usr/share/doc/${name}`, 'doc'),
        dir(`etc/${name}/`),
        exe(`usr/bin/${name}x`),
        exe('usr/bin/real'),
        link(`usr/lib/tool/${name}`, '/usr/bin/real'),
        link(`usr/sbin/${name}`, '/nonexistent'),
        link(`usr/local/bin/${name}`, '/usr/share/doc/readme'),
        file('usr/share/doc/readme', 'text'),
      ];
      assert.deepEqual(await runFile(id, { extra: clean }), passes(`File(s) ${label} not found`));
      const found: TestEntry[] = [exe('bin/busybox')];
      const expected: string[] = [];
      names.forEach((n, i) => {
        found.push(i % 3 === 0 ? exe(`opt/x/${n}`) : i % 3 === 1 ? link(`usr/bin/${n}`, '/bin/busybox') : hard(`srv/${n}`, 'bin/busybox'));
        expected.push(i % 3 === 0 ? `/opt/x/${n}` : i % 3 === 1 ? `/usr/bin/${n}` : `/srv/${n}`);
      });
      found.push(link(`bin/${name}`, 'busybox'));
      expected.push(`/bin/${name}`);
      assert.deepEqual(await runFile(id, { extra: found }), fails('Found file', [{ [D1]: expected.sort() }]));
    });
  }

  const debianSymlinks: TestEntry[] = [
    link('bin', 'usr/bin'),
    link('sbin', 'usr/sbin'),
    exe('usr/lib/apt/methods/rsh'),
    link('usr/lib/apt/methods/ssh', 'rsh'),
    link('etc/alternatives/nc', '/bin/busybox'),
    link('etc/runit/runsvdir/default/ssh', '/etc/sv/ssh'),
    dir('etc/sv/ssh/'),
    exe('usr/bin/busybox'),
  ];
  const cases: Array<[string, string, TestEntry[], string[] | undefined]> = [
    ["apt's /usr/lib/apt/methods/ssh → rsh is not a program", 'ssh', debianSymlinks, undefined],
    ['/etc/alternatives/nc is not a program', 'nc', debianSymlinks, undefined],
    ["runit's /etc/runit/runsvdir/default/ssh is not a program", 'ssh', debianSymlinks, undefined],
    [
      "Debian's /usr/bin/nc → /etc/alternatives/nc → /bin/nc.openbsd with /bin → usr/bin",
      'nc',
      [
        ...debianSymlinks,
        link('etc/alternatives/nc', '/bin/nc.openbsd'),
        link('usr/bin/nc', '/etc/alternatives/nc'),
        exe('usr/bin/nc.openbsd'),
      ],
      ['/usr/bin/nc', '/usr/bin/nc.openbsd'],
    ],
    [
      'a link written under /bin → usr/bin is in PATH',
      'su',
      [
        ...debianSymlinks.filter((e) => e.path !== 'bin'),
        exe('usr/bin/busybox'),
        link('bin', 'usr/bin'),
        link('usr/bin/su', '/bin/busybox'),
      ],
      ['/usr/bin/su'],
    ],
    ["busybox's /bin/su → /bin/busybox", 'su', [exe('bin/busybox'), link('bin/su', '/bin/busybox')], ['/bin/su']],
    [
      'a PATH dir that is itself a link (/usr/local/bin → /opt/tools)',
      'su',
      [exe('bin/busybox'), link('usr/local/bin', '/opt/tools'), link('opt/tools/su', '/bin/busybox')],
      ['/opt/tools/su'],
    ],
    [
      'a PATH link to a hard link of an executable',
      'sudo',
      [exe('bin/busybox'), hard('opt/bb', 'bin/busybox'), link('usr/bin/sudo', '/opt/bb')],
      ['/usr/bin/sudo'],
    ],
    [
      'a PATH link into a dir that is a link',
      'socat',
      [
        link('opt/current', 'socat-1.7'),
        exe('opt/socat-1.7/bin/socat-real'),
        link('usr/local/bin/socat', '../../../opt/current/bin/socat-real'),
      ],
      ['/usr/local/bin/socat'],
    ],
    ['a PATH link to a directory', 'sshd', [dir('usr/lib/sshd/'), link('usr/sbin/sshd', '../lib/sshd')], undefined],
    ['a PATH link in a loop', 'sshd', [link('usr/sbin/sshd', 'sshd')], undefined],
  ];
  for (const [what, id, entries, expected] of cases) {
    it(`${id}: ${what}`, async () => {
      const outcome = await runFile(id, { extra: entries });
      const label = PROGRAM_CHECKS.find(([i]) => i === id)?.[1] ?? id;
      assert.deepEqual(outcome, expected === undefined ? passes(`File(s) ${label} not found`) : fails('Found file', [{ [D1]: expected }]));
    });
  }

  it('a PATH link whose target a layer did not record (too many executables) counts, and says so', async () => {
    const entries = [exe('bin/aaa'), exe('bin/busybox'), link('bin/su', 'busybox')];
    assert.deepEqual(
      await runFile('su', { extra: entries, maxExecutables: 2 }),
      fails(
        'Found file (counted as programs because a layer had more executables than the scan records, so their targets could not be checked: /bin/su)',
        [{ [D1]: ['/bin/su'] }],
      ),
    );
    assert.deepEqual(await runFile('su', { extra: entries }), fails('Found file', [{ [D1]: ['/bin/su'] }]));
  });

  it('a symlink in a later layer is judged in the final filesystem', async () => {
    const layers = [
      { entries: [...BASE, exe('bin/busybox')] },
      { entries: [link('usr/bin/nc', '/bin/busybox')] },
      { entries: [file('bin/.wh.busybox')] },
    ];
    assert.deepEqual(await runFile('nc', { layers }), passes('File(s) nc not found'));
    assert.deepEqual(await runFile('nc', { layers: layers.slice(0, 2) }), fails('Found file', [{ [D2]: ['/usr/bin/nc'] }]));
  });
});

describe('check 16 compilers', () => {
  it('versioned and target-prefixed names behind links; interpreters and doc links are not compilers', async () => {
    const mitigationFree = [
      ...['python3', 'node', 'perl', 'gcc-ar-12', 'c++filt', 'go-md2man', 'cc1'].map((n) => exe(`usr/bin/${n}`)),
      dir('usr/lib/go/'),
      file('usr/share/man/gcc', 'not executable'),
      dir('usr/share/doc/gcc-12-base/'),
      link('usr/share/doc/gcc', 'gcc-12-base'),
    ];
    assert.deepEqual(await runFile('compilers', { extra: mitigationFree }), passes('Compiler(s) not found'));
    const layers = [
      { entries: BASE },
      {
        entries: [
          exe('usr/bin/x86_64-linux-gnu-gcc-12'),
          link('usr/bin/gcc-12', 'x86_64-linux-gnu-gcc-12'),
          link('usr/bin/gcc', 'gcc-12'),
          link('usr/bin/cc', '/etc/alternatives/cc'),
          link('etc/alternatives/cc', '/usr/bin/gcc'),
          exe('usr/bin/aarch64-linux-gnu-g++'),
          exe('usr/bin/clang-15'),
          exe('usr/bin/c99-gcc'),
          exe('usr/local/cargo/bin/rustc'),
          exe('usr/local/go/bin/go'),
        ],
      },
    ];
    assert.deepEqual(
      await runFile('compilers', { layers }),
      fails('Found file', [
        {
          [D2]: [
            '/usr/bin/aarch64-linux-gnu-g++',
            '/usr/bin/c99-gcc',
            '/usr/bin/cc',
            '/usr/bin/clang-15',
            '/usr/bin/gcc',
            '/usr/bin/gcc-12',
            '/usr/bin/x86_64-linux-gnu-gcc-12',
            '/usr/local/cargo/bin/rustc',
            '/usr/local/go/bin/go',
          ],
        },
      ]),
    );
  });
});

describe('a layer that was not scanned can never pass a file check', () => {
  const notScanned = [{ digest: 'sha256:' + 'f'.repeat(64), reason: 'foreign layer not served by the registry' }];
  const note = `layer sha256:${'f'.repeat(64)} not scanned (foreign layer not served by the registry)`;
  const fileChecks = ALL_CHECKS.filter((c) => c.matcher !== undefined);

  it('every file check (7–16) fails at its own severity as not verified', async () => {
    assert.deepEqual(
      fileChecks.map((c) => c.id),
      ['suid', 'sgid', 'sudo', 'su', 'sshd', 'ssh', 'nc', 'netcat', 'socat', 'compilers'],
    );
    for (const check of fileChecks) {
      const outcome = await check.run(checkInput({ layers: [{ entries: BASE }], config: GOOD_CONFIG, notScanned }));
      const passText = (await runFile(check.id)).description;
      assert.deepEqual(outcome, fails(`${passText} in the scanned layers, but not verified: ${note}`), check.id);
    }
    assert.deepEqual(
      await runFile('su', { extra: [exe('bin/su')], notScanned }),
      fails(`Found file (not verified: ${note})`, [{ [D1]: ['/bin/su'] }]),
    );
  });

  it('with allowUnscannedLayers they pass with a note, as before', async () => {
    assert.deepEqual(
      await runFile('su', { notScanned, allowUnscannedLayers: true }),
      passes('File(s) su not found (1 layer(s) not scanned: foreign layer not served by the registry)'),
    );
    assert.deepEqual(
      run('os-type', { notScanned }),
      passes(`The image test/app:1.0 is based on the OS ['Debian GNU/Linux', '12'] (the final filesystem may be incomplete: ${note})`),
    );
  });
});

describe('check 17 OS type', () => {
  const cases: Array<[string, TestEntry[], string]> = [
    [
      'os-release through a symlink',
      [file('usr/lib/os-release', 'NAME="Ubuntu"\nVERSION_ID="24.04"\n'), link('etc/os-release', '../usr/lib/os-release')],
      "is based on the OS ['Ubuntu', '24.04']",
    ],
    [
      '/usr/lib/os-release when /etc/os-release is missing',
      [file('usr/lib/os-release', 'NAME="Fedora Linux"\nVERSION_ID=40\n')],
      "is based on the OS ['Fedora Linux', '40']",
    ],
    ['Alpine', [file('etc/alpine-release', '3.19.1\n')], "is based on the OS ['Alpine Linux', '3.19.1']"],
    [
      'distroless',
      [file('etc/os-release', 'PRETTY_NAME="Distroless"\nNAME="Debian GNU/Linux"\nID="debian"\nVERSION_ID="12"\n')],
      "is based on the OS ['Debian GNU/Linux', '12'] (distroless)",
    ],
    [
      'no OS',
      [exe('app')],
      'has no OS release information (no /etc/os-release or /usr/lib/os-release): a scratch, static or minimal image',
    ],
    [
      'a loop',
      [link('etc/os-release', 'os-release2'), link('etc/os-release2', '/etc/os-release')],
      'has OS release information that cannot be read: more than 40 symlinks (a loop) from /etc/os-release',
    ],
  ];
  for (const [what, entries, text] of cases) {
    it(what, () => {
      assert.deepEqual(run('os-type', { bare: true, extra: entries }), passes(`The image test/app:1.0 ${text}`));
    });
  }

  it('names the platform when the image came from an index', () => {
    const input = { ...checkInput({ layers: [{ entries: BASE }] }), platform: { os: 'linux', architecture: 'arm64' } };
    const outcome = ALL_CHECKS.find((c) => c.id === 'os-type')?.run(input);
    assert.ok(outcome && !(outcome instanceof Promise));
    assert.equal(outcome.description, "The image test/app:1.0 (linux/arm64) is based on the OS ['Debian GNU/Linux', '12']");
  });
});
