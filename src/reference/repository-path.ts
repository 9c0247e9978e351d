/**
 * The repository path a report file is named after (docs/reports.md, "Report file names"): the name
 * without its registry host, Docker Hub's `library/` dropped — `team-a/app` from
 * `registry.local:5000/team-a/app`, `gcc` from `docker.io/library/gcc` — so that two
 * repositories that end in the same segment never share a report file.
 */
import { DOCKER_HUB_ALIASES } from './reference.js';

/** Docker's rule for "the first component is a registry host, not a namespace". */
function isHost(component: string): boolean {
  return component.includes('.') || component.includes(':') || component === 'localhost' || component.toLowerCase() !== component;
}

/** `host[:port]/path/name` or `path/name` (as a reference or `RepoTags` names it, without tag) → `path/name`. */
export function repositoryPath(name: string): string {
  const slash = name.indexOf('/');
  const first = slash < 0 ? '' : name.slice(0, slash);
  const hasHost = slash >= 0 && isHost(first);
  const path = hasHost ? name.slice(slash + 1) : name;
  const onHub = !hasHost || DOCKER_HUB_ALIASES.includes(first.toLowerCase());
  return onHub && path.startsWith('library/') && path.length > 'library/'.length ? path.slice('library/'.length) : path;
}
