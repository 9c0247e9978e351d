/**
 * Check 6 reads the command as Docker (daemon/create.go mergeAndVerifyConfig: an Entrypoint of
 * `[""]` is reset, then no Entrypoint and no Cmd is "No command specified") and podman
 * (specgen makeCommand: `[""]` is not appended, an empty result is an error) build it; an argv
 * whose program is `""` is refused by runc's exec ("executable file not found").
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ALL_CHECKS } from '../../../src/checks/index.js';
import { effectiveArgv } from '../../../src/checks/startup-command.js';
import type { RuntimeConfig } from '../../../src/image/config.js';
import { checkInput } from '../../helpers/check-input.js';

function run(config: RuntimeConfig): { pass: boolean; description: string } {
  const check = ALL_CHECKS.find((c) => c.id === 'startup-command');
  assert.ok(check);
  const outcome = check.run(checkInput({ layers: [], config }));
  assert.ok(!(outcome instanceof Promise), 'check 6 answers at once');
  return outcome;
}

describe('check 6: an empty command is no command', () => {
  const cases: Array<[string, RuntimeConfig, boolean, string]> = [
    [
      'Entrypoint [""] alone',
      { Entrypoint: [''] },
      false,
      "The image has no startup command: ENTRYPOINT [''] gives none (an ENTRYPOINT of [''] is no entrypoint for Docker and podman)",
    ],
    [
      'Cmd [""] alone',
      { Cmd: [''] },
      false,
      "The image has no startup command: CMD [''] starts the empty program name, which the runtime cannot run",
    ],
    [
      'Entrypoint "" (a string)',
      { Entrypoint: '' },
      false,
      "The image has no startup command: ENTRYPOINT [''] gives none (an ENTRYPOINT of [''] is no entrypoint for Docker and podman)",
    ],
    [
      'Entrypoint [""] and Cmd [""]',
      { Entrypoint: [''], Cmd: [''] },
      false,
      "The image has no startup command: ENTRYPOINT [''] CMD [''] starts the empty program name, which the runtime cannot run",
    ],
    [
      'Entrypoint ["", "x"]',
      { Entrypoint: ['', 'x'] },
      false,
      "The image has no startup command: ENTRYPOINT ['', 'x'] starts the empty program name, which the runtime cannot run",
    ],
    [
      'Entrypoint [""] and an empty Cmd',
      { Entrypoint: [''], Cmd: [] },
      false,
      "The image has no startup command: ENTRYPOINT [''] gives none (an ENTRYPOINT of [''] is no entrypoint for Docker and podman)",
    ],
    // Docker and podman drop the [""] entrypoint and run Cmd.
    [
      'Entrypoint [""] and a Cmd',
      { Entrypoint: [''], Cmd: ['/app/server'] },
      true,
      "The image has startup parameters set in ENTRYPOINT [''] CMD ['/app/server']",
    ],
    [
      'an Entrypoint and Cmd [""] (an empty argument)',
      { Entrypoint: ['/app/server'], Cmd: [''] },
      true,
      "The image has startup parameters set in ENTRYPOINT ['/app/server'] CMD ['']",
    ],
    ['a Cmd', { Cmd: ['/app/server'] }, true, "The image has startup parameters set in CMD ['/app/server']"],
  ];
  for (const [what, config, pass, description] of cases) {
    it(what, () => assert.deepEqual(run(config), { pass, description }));
  }

  it('effectiveArgv: Entrypoint ++ Cmd, an Entrypoint of exactly [""] left out', () => {
    assert.deepEqual(effectiveArgv([''], ['a']), ['a']);
    assert.deepEqual(effectiveArgv(['', ''], ['a']), ['', '', 'a']);
    assert.deepEqual(effectiveArgv(['/bin/sh', '-c'], ['echo']), ['/bin/sh', '-c', 'echo']);
  });
});
