/**
 * Every check of SPEC §3, passing and failing, through the real pipeline: an image built in
 * code → OCI layout on disk → scan(). Each assertion is on the exact result object.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { EntrySpec, ImageSpec } from '../helpers/image-builder.js';
import { scanSpec } from '../helpers/scan.js';

const OS_RELEASE = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nID=debian\n';
const PASSWD = 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\nadmin:x:0:0::/root:/bin/sh\n';
const GROUP = 'root:x:0:\napp:x:1000:\nwheel:x:0:\n';

const baseEntries: EntrySpec[] = [
  { type: 'dir', path: 'etc/' },
  { type: 'file', path: 'etc/os-release', content: OS_RELEASE },
  { type: 'file', path: 'etc/passwd', content: PASSWD },
  { type: 'file', path: 'etc/group', content: GROUP },
  { type: 'file', path: 'app/server', mode: 0o755, content: 'bin' },
];

const goodConfig = {
  User: 'app:app',
  Labels: { vendor: 'Example', version: '1.0', component: 'backend', product: 'shop' },
  Cmd: ['/app/server'],
  ExposedPorts: { '8080/tcp': {} },
};

/** A compliant one-layer image, with overrides. */
function image(over: { entries?: EntrySpec[]; config?: Record<string, unknown>; layers?: ImageSpec['layers'] } = {}): ImageSpec {
  return { layers: over.layers ?? [{ entries: over.entries ?? baseEntries }], config: { ...goodConfig, ...over.config } };
}

const pass = (id: string, title: string, description: string, mitigation: string): object => ({ Id: id, Title: title, Severity: 'Informational', Pass: true, Description: description, Mitigation: mitigation });

test('a compliant image passes every check and exits Informational', async () => {
  const { scan } = await scanSpec(image());
  assert.equal(scan.highest, 'Informational');
  assert.equal(scan.results.length, 17);
  assert.deepEqual(
    scan.results.map((r) => r.Pass),
    new Array(17).fill(true),
  );
});

test('check 1 Tag :latest: a fixed tag passes, latest and a missing tag fail', async () => {
  const mitigation = 'The image must have a fixed tag to determine the version';
  const fixed = await scanSpec(image(), '1.0');
  assert.deepEqual(fixed.byId('tag-latest'), pass('tag-latest', 'Tag :latest', `Image ${fixed.scan.image.name.display} has tag: 1.0`, mitigation));
  const latest = await scanSpec(image(), 'latest');
  assert.deepEqual(latest.byId('tag-latest'), { Id: 'tag-latest', Title: 'Tag :latest', Severity: 'Critical', Pass: false, Description: `Image ${latest.scan.image.name.display} has tag: latest`, Mitigation: mitigation });
  const none = await scanSpec(image(), null);
  assert.deepEqual(none.byId('tag-latest'), { Id: 'tag-latest', Title: 'Tag :latest', Severity: 'Critical', Pass: false, Description: `Image ${none.scan.image.name.display}: tag not defined`, Mitigation: mitigation });
});

test('check 2 EXPOSE: every critical port fails, a port without protocol is tcp, 161 only as udp', async () => {
  const mitigation = 'Make sure your containers only use protocols for remote connectivity when necessary.';
  const ok = await scanSpec(image({ config: { ExposedPorts: { '8080/tcp': {}, '161/tcp': {}, '22/udp': {} } } }));
  assert.deepEqual(ok.byId('exposed-ports'), pass('exposed-ports', 'Critical ports in the instructions EXPOSE', 'The image does not have critical ports in the EXPOSE statement', mitigation));
  const bad = await scanSpec(image({ config: { ExposedPorts: { '2375/tcp': {}, '22': {}, '23/tcp': {}, '161/udp': {}, '2376/tcp': {}, '3389/tcp': {}, '80/tcp': {} } } }));
  assert.deepEqual(bad.byId('exposed-ports'), {
    Id: 'exposed-ports',
    Title: 'Critical ports in the instructions EXPOSE',
    Severity: 'High',
    Pass: false,
    Description: 'The image has critical ports in the EXPOSE statement: 22/tcp (ssh), 23/tcp (telnet), 161/udp (snmp), 2375/tcp (docker), 2376/tcp (docker (TLS)), 3389/tcp (rdp)',
    Mitigation: mitigation,
  });
});

test('check 3 Default user and group: user and group resolved against /etc/passwd and /etc/group', async () => {
  const mitigation = 'The default USER and GROUP must be explicitly defined in the USER statement and do not contain root or 0. For example, USER app:app';
  const fail = (description: string): object => ({ Id: 'default-user', Title: 'Default user and group', Severity: 'Critical', Pass: false, Description: description, Mitigation: mitigation });
  const cases: Array<[string | undefined, object]> = [
    ['app:app', pass('default-user', 'Default user and group', 'The default user and group are app:app', mitigation)],
    ['1000:1000', pass('default-user', 'Default user and group', 'The default user and group are 1000:1000', mitigation)],
    [undefined, fail('User not defined')],
    ['', fail('User not defined')],
    ['app', fail('Default group not defined (USER app)')],
    ['root:app', fail('The default user is root: root (USER root:app)')],
    ['0:app', fail('The default user is root: 0 (USER 0:app)')],
    // The original's defect: USER 1000:0 passed because it compared the user twice (SPEC §6).
    ['1000:0', fail('The default group is root: 0 (USER 1000:0)')],
    ['app:root', fail('The default group is root: root (USER app:root)')],
    ['admin:app', fail('The default user is root: admin, which has uid 0 in /etc/passwd (USER admin:app)')],
    ['app:wheel', fail('The default group is root: wheel, which has gid 0 in /etc/group (USER app:wheel)')],
    ['root', fail('The default user is root: root. Default group not defined (USER root)')],
  ];
  for (const [user, expected] of cases) {
    const config = user === undefined ? { User: undefined } : { User: user };
    const { byId } = await scanSpec(image({ config }));
    assert.deepEqual(byId('default-user'), expected, `USER ${String(user)}`);
  }
});

test('check 3 follows a whiteout: /etc/passwd replaced in a later layer decides', async () => {
  const { byId } = await scanSpec(
    image({
      layers: [
        { entries: baseEntries },
        { entries: [{ type: 'file', path: 'etc/passwd', content: 'root:x:0:0::/root:/bin/sh\nsvc:x:0:0::/:/bin/sh\n' }] },
      ],
      config: { User: 'svc:app' },
    }),
  );
  assert.equal(byId('default-user').Pass, false);
  assert.match(byId('default-user').Description, /svc, which has uid 0/);
});

test('check 4 LABEL: no labels fail; labels pass and name the missing recommended facts', async () => {
  const mitigation = 'The image must contain a set of labels specified by the developer in the LABEL instruction';
  const none = await scanSpec(image({ config: { Labels: null } }));
  assert.deepEqual(none.byId('labels'), { Id: 'labels', Title: 'Image LABEL metadata', Severity: 'Low', Pass: false, Description: 'LABEL is not defined', Mitigation: mitigation });
  const some = await scanSpec(image({ config: { Labels: { 'org.opencontainers.image.vendor': 'Example', 'org.opencontainers.image.version': '2' } } }));
  assert.deepEqual(some.byId('labels'), pass('labels', 'Image LABEL metadata', 'LABEL is defined (2 label(s)); recommended labels missing: component, product', mitigation));
  const all = await scanSpec(image());
  assert.deepEqual(all.byId('labels'), pass('labels', 'Image LABEL metadata', 'LABEL is defined (4 label(s))', mitigation));
});

test('check 5 layers: one layer passes, three fail', async () => {
  const mitigation = 'A good practice would be to squash all layers in the resulting image into a single layer. See docker squash, multistage build';
  const one = await scanSpec(image());
  assert.deepEqual(one.byId('layer-count'), pass('layer-count', 'The number of layers in the image', 'Number of layers in the image 1', mitigation));
  const three = await scanSpec(image({ layers: [{ entries: baseEntries }, { entries: [] }, { entries: [] }] }));
  assert.deepEqual(three.byId('layer-count'), {
    Id: 'layer-count',
    Title: 'The number of layers in the image',
    Severity: 'Low',
    Pass: false,
    Description: 'Number of layers in the image 3. It is necessary to minimize the number of layers if possible',
    Mitigation: mitigation,
  });
});

test('check 6 CMD / ENTRYPOINT: described as the original did, missing fails', async () => {
  const mitigation = 'It is good practice to specify default launch parameters by developer. You must define parameters in a CMD or ENTRYPOINT statement';
  const cmd = await scanSpec(image({ config: { Cmd: ['bash'] } }));
  assert.deepEqual(cmd.byId('startup-command'), pass('startup-command', 'Parameters CMD, ENTRYPOINT', "The image has startup parameters set in CMD ['bash']", mitigation));
  const both = await scanSpec(image({ config: { Entrypoint: ['/app/server'], Cmd: ['--port', "it's"] } }));
  assert.equal(both.byId('startup-command').Description, `The image has startup parameters set in ENTRYPOINT ['/app/server'] CMD ['--port', "it's"]`);
  const none = await scanSpec(image({ config: { Cmd: [], Entrypoint: null } }));
  assert.deepEqual(none.byId('startup-command'), {
    Id: 'startup-command',
    Title: 'Parameters CMD, ENTRYPOINT',
    Severity: 'Low',
    Pass: false,
    Description: 'The image has no startup parameters: neither ENTRYPOINT nor CMD is set',
    Mitigation: mitigation,
  });
});

test('checks 7 and 8: suid / sgid files per layer digest; setgid directories are not findings', async () => {
  const layer1: EntrySpec[] = [...baseEntries, { type: 'file', path: './usr/bin/passwd', mode: 0o4755, content: 'x' }, { type: 'dir', path: 'var/mail/', mode: 0o2775 }];
  const layer2: EntrySpec[] = [
    { type: 'file', path: '/usr/bin/chage', mode: 0o2755, content: 'x' },
    { type: 'file', path: 'usr/bin/both', mode: 0o6755, content: 'x' },
    { type: 'hardlink', path: 'usr/bin/passwd2', target: 'usr/bin/both', mode: 0o6755 },
  ];
  const { built, byId } = await scanSpec(image({ layers: [{ entries: layer1 }, { entries: layer2, compression: 'zstd-stored' }] }));
  const [d1, d2] = built.layers.map((l) => l.digest);
  assert.deepEqual(byId('suid'), {
    Id: 'suid',
    Title: 'Checking for a suid bit file',
    Severity: 'Critical',
    Pass: false,
    Description: 'Found file',
    Mitigation: 'The image must not contain file(s) suid bit in the image',
    Files: [{ [d1 as string]: ['/usr/bin/passwd'] }, { [d2 as string]: ['/usr/bin/both', '/usr/bin/passwd2'] }],
  });
  assert.deepEqual(byId('sgid'), {
    Id: 'sgid',
    Title: 'Checking for a sgid bit file',
    Severity: 'Critical',
    Pass: false,
    Description: 'Found file',
    Mitigation: 'The image must not contain file(s) sgid bit in the image',
    Files: [{ [d2 as string]: ['/usr/bin/both', '/usr/bin/chage', '/usr/bin/passwd2'] }],
  });
  const clean = await scanSpec(image({ entries: [...baseEntries, { type: 'dir', path: 'var/mail/', mode: 0o2775 }] }));
  assert.deepEqual(clean.byId('sgid'), pass('sgid', 'Checking for a sgid bit file', 'File(s) sgid bit not found', 'The image must not contain file(s) sgid bit in the image'));
  assert.deepEqual(clean.byId('suid'), pass('suid', 'Checking for a suid bit file', 'File(s) suid bit not found', 'The image must not contain file(s) suid bit in the image'));
});

const PROGRAM_CHECKS: ReadonlyArray<[string, string, string, string[]]> = [
  ['sudo', 'Checking for a sudo file', 'sudo', ['sudo', 'sudoedit']],
  ['su', 'Checking for a su file', 'su', ['su']],
  ['sshd', 'Checking for a sshd file', 'sshd', ['sshd']],
  ['ssh', 'Checking for a ssh client file', 'ssh client', ['ssh']],
  ['nc', 'Checking for a nc file', 'nc', ['nc', 'ncat', 'nc.openbsd', 'nc.traditional']],
  ['netcat', 'Checking for a netcat file', 'netcat', ['netcat']],
  ['socat', 'Checking for a socat file', 'socat', ['socat']],
];

for (const [id, title, label, names] of PROGRAM_CHECKS) {
  test(`check ${title}: executables, symlinks and hard links named ${names.join('/')} fail; other entries do not`, async () => {
    const mitigation = `The image must not contain file(s) ${label} in the image`;
    const clean = await scanSpec(
      image({
        entries: [
          ...baseEntries,
          // Not programs: a non-executable file, a directory, and names that only contain the word.
          { type: 'file', path: `usr/share/doc/${names[0]}`, mode: 0o644, content: 'doc' },
          { type: 'dir', path: `etc/${names[0]}/` },
          { type: 'file', path: `usr/bin/${names[0]}x`, mode: 0o755, content: 'x' },
        ],
      }),
    );
    assert.deepEqual(clean.byId(id), pass(id, title, `File(s) ${label} not found`, mitigation));
    const entries: EntrySpec[] = [...baseEntries];
    const expected: string[] = [];
    names.forEach((n, i) => {
      const path = `/usr/bin/${n}`;
      if (i % 3 === 0) entries.push({ type: 'file', path: `usr/bin/${n}`, mode: 0o755, content: 'x' });
      else if (i % 3 === 1) entries.push({ type: 'symlink', path: `usr/bin/${n}`, target: '/bin/busybox' });
      else entries.push({ type: 'hardlink', path: `usr/bin/${n}`, target: 'app/server', mode: 0o755 });
      expected.push(path);
    });
    entries.push({ type: 'symlink', path: `bin/${names[0]}`, target: '/bin/busybox' });
    expected.push(`/bin/${names[0]}`);
    const { built, byId } = await scanSpec(image({ entries }));
    assert.deepEqual(byId(id), { Id: id, Title: title, Severity: 'Critical', Pass: false, Description: 'Found file', Mitigation: mitigation, Files: [{ [built.layers[0]?.digest as string]: expected.sort() }] });
  });
}

test('check 16 compilers: versioned and target-prefixed names behind links; interpreters are not compilers', async () => {
  const mitigation =
    'The image should not contain compilers in the file system, except when they are necessary for the operation of the application. Make sure that compilers are actually needed during execution';
  const interpreters = await scanSpec(
    image({
      entries: [
        ...baseEntries,
        ...['python3', 'node', 'perl', 'gcc-ar-12', 'c++filt', 'go-md2man', 'cc1'].map((n): EntrySpec => ({ type: 'file', path: `usr/bin/${n}`, mode: 0o755, content: 'x' })),
        { type: 'dir', path: 'usr/lib/go/' },
        { type: 'file', path: 'usr/share/man/gcc', mode: 0o644, content: 'not executable' },
      ],
    }),
  );
  assert.deepEqual(interpreters.byId('compilers'), pass('compilers', 'Compilers in the image', 'Compiler(s) not found', mitigation));
  const compilerEntries: EntrySpec[] = [
    { type: 'file', path: 'usr/bin/x86_64-linux-gnu-gcc-12', mode: 0o755, content: 'x' },
    { type: 'symlink', path: 'usr/bin/gcc-12', target: 'x86_64-linux-gnu-gcc-12' },
    { type: 'symlink', path: 'usr/bin/gcc', target: 'gcc-12' },
    { type: 'symlink', path: 'usr/bin/cc', target: '/etc/alternatives/cc' },
    { type: 'file', path: 'usr/bin/aarch64-linux-gnu-g++', mode: 0o755, content: 'x' },
    { type: 'file', path: 'usr/bin/clang-15', mode: 0o755, content: 'x' },
    { type: 'file', path: 'usr/bin/c99-gcc', mode: 0o755, content: 'x' },
    { type: 'file', path: 'usr/local/cargo/bin/rustc', mode: 0o755, content: 'x' },
    { type: 'file', path: 'usr/local/go/bin/go', mode: 0o755, content: 'x' },
  ];
  const { built, byId } = await scanSpec(image({ layers: [{ entries: baseEntries }, { entries: compilerEntries }] }));
  assert.deepEqual(byId('compilers'), {
    Id: 'compilers',
    Title: 'Compilers in the image',
    Severity: 'Medium',
    Pass: false,
    Description: 'Found file',
    Mitigation: mitigation,
    Files: [
      {
        [built.layers[1]?.digest as string]: [
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
    ],
  });
});

test('a file added in layer 1 and whited-out in layer 2 is reported in layer 1, noted as removed', async () => {
  const { built, byId } = await scanSpec(
    image({
      layers: [
        { entries: [...baseEntries, { type: 'file', path: 'usr/bin/sudo', mode: 0o4755, content: 'x' }] },
        { entries: [{ type: 'file', path: 'usr/bin/.wh.sudo', content: '' }] },
      ],
    }),
  );
  const d1 = built.layers[0]?.digest as string;
  assert.deepEqual(byId('sudo').Files, [{ [d1]: ['/usr/bin/sudo'] }]);
  assert.equal(byId('sudo').Description, "Found file (removed from the final filesystem by a later layer, still present in the image's layers: /usr/bin/sudo)");
  assert.deepEqual(byId('suid').Files, [{ [d1]: ['/usr/bin/sudo'] }]);
});

test('check 17 OS type: os-release through a symlink, Alpine, distroless and no OS', async () => {
  const mitigation = 'A good practice would be to use Distroless images to minimize the components in the image';
  const viaLink = await scanSpec(
    image({
      entries: [
        { type: 'file', path: 'usr/lib/os-release', content: 'NAME="Ubuntu"\nVERSION_ID="24.04"\n' },
        { type: 'symlink', path: 'etc/os-release', target: '../usr/lib/os-release' },
        { type: 'file', path: 'etc/passwd', content: PASSWD },
        { type: 'file', path: 'etc/group', content: GROUP },
      ],
    }),
  );
  assert.deepEqual(viaLink.byId('os-type'), pass('os-type', 'Checking for OS type', `The image ${viaLink.scan.image.name.display} is based on the OS ['Ubuntu', '24.04']`, mitigation));
  const alpine = await scanSpec(image({ entries: [{ type: 'file', path: 'etc/alpine-release', content: '3.19.1\n' }] }));
  assert.equal(alpine.byId('os-type').Description, `The image ${alpine.scan.image.name.display} is based on the OS ['Alpine Linux', '3.19.1']`);
  const alpineOsRelease = await scanSpec(image({ entries: [{ type: 'file', path: 'etc/os-release', content: 'NAME="Alpine Linux"\nID=alpine\nVERSION_ID=3.20.0\n' }] }));
  assert.equal(alpineOsRelease.byId('os-type').Description, `The image ${alpineOsRelease.scan.image.name.display} is based on the OS ['Alpine Linux', '3.20.0']`);
  const distroless = await scanSpec(image({ entries: [{ type: 'file', path: 'etc/os-release', content: 'PRETTY_NAME="Distroless"\nNAME="Debian GNU/Linux"\nID="debian"\nVERSION_ID="12"\n' }] }));
  assert.equal(distroless.byId('os-type').Description, `The image ${distroless.scan.image.name.display} is based on the OS ['Debian GNU/Linux', '12'] (distroless)`);
  const scratch = await scanSpec(image({ entries: [{ type: 'file', path: 'app', mode: 0o755, content: 'static binary' }] }));
  assert.deepEqual(
    scratch.byId('os-type'),
    pass('os-type', 'Checking for OS type', `The image ${scratch.scan.image.name.display} has no OS release information (no /etc/os-release or /usr/lib/os-release): a scratch, static or minimal image`, mitigation),
  );
  const loop = await scanSpec(
    image({
      entries: [
        { type: 'symlink', path: 'etc/os-release', target: 'os-release2' },
        { type: 'symlink', path: 'etc/os-release2', target: '/etc/os-release' },
      ],
    }),
  );
  assert.equal(loop.byId('os-type').Pass, true);
  assert.match(loop.byId('os-type').Description, /has no OS release information/);
});

test('results keep the order and titles of SPEC §3; the exit severity is the highest, not the first', async () => {
  const { scan } = await scanSpec(image({ config: { Labels: null } }), '2.0');
  assert.deepEqual(
    scan.results.map((r) => r.Title),
    [
      'Tag :latest',
      'Critical ports in the instructions EXPOSE',
      'Default user and group',
      'Image LABEL metadata',
      'The number of layers in the image',
      'Parameters CMD, ENTRYPOINT',
      'Checking for a suid bit file',
      'Checking for a sgid bit file',
      'Checking for a sudo file',
      'Checking for a su file',
      'Checking for a sshd file',
      'Checking for a ssh client file',
      'Checking for a nc file',
      'Checking for a netcat file',
      'Checking for a socat file',
      'Compilers in the image',
      'Checking for OS type',
    ],
  );
  assert.equal(scan.highest, 'Low');
});

test('check 3 sees through a symlinked /etc: a uid-0 user cannot hide behind /etc → /private/etc', async () => {
  const hidden: EntrySpec[] = [
    { type: 'dir', path: 'private/etc/' },
    { type: 'file', path: 'private/etc/passwd', content: 'root:x:0:0::/root:/bin/sh\nadmin:x:0:0::/root:/bin/sh\n' },
    { type: 'file', path: 'private/etc/group', content: 'root:x:0:\napp:x:1000:\n' },
    { type: 'file', path: 'private/etc/os-release', content: 'NAME="Hidden OS"\nVERSION_ID="1"\n' },
  ];
  const { byId, scan } = await scanSpec(
    image({
      layers: [{ entries: hidden }, { entries: [{ type: 'symlink', path: 'etc', target: 'private/etc' }] }],
      config: { User: 'admin:app' },
    }),
  );
  assert.equal(byId('default-user').Description, 'The default user is root: admin, which has uid 0 in /etc/passwd (USER admin:app)');
  assert.equal(byId('os-type').Description, `The image ${scan.image.name.display} is based on the OS ['Hidden OS', '1']`);
});
