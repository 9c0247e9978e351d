/**
 * Extended check `healthcheck` (docs/checks.md, "Extended checks"): the config must define a
 * HEALTHCHECK. Reads the config's `Healthcheck` (Docker's image JSON; an OCI config has no such
 * field, so an image built in OCI format has none whatever its Containerfile said).
 */
import type { Check } from './types.js';

/** Fails when `Healthcheck` is absent, has no test, or is `HEALTHCHECK NONE` (`Test: ["NONE"]`). The command is never quoted. */
export const healthcheckCheck: Check = {
  id: 'healthcheck',
  title: 'HEALTHCHECK instruction',
  severity: 'Low',
  mitigation:
    'Add a HEALTHCHECK instruction that checks the service (e.g. HEALTHCHECK CMD ["/app/healthcheck"]), and build in Docker format (buildah/podman: --format docker), as an OCI image config cannot hold one',
  run({ config }) {
    const test = config.config?.Healthcheck?.Test ?? [];
    const kind = test[0];
    if (kind === undefined) return { pass: false, description: 'HEALTHCHECK is not defined' };
    if (kind === 'NONE') return { pass: false, description: 'HEALTHCHECK NONE: the health check is disabled' };
    if ((kind === 'CMD' || kind === 'CMD-SHELL') && test.length < 2)
      return { pass: false, description: `HEALTHCHECK ${kind} has no command` };
    return { pass: true, description: `HEALTHCHECK is defined (${kind})` };
  },
};
