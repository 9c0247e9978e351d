/**
 * The tool that wrote a document (every report document names it: the scan document, SARIF,
 * the audit summary), and the version `--version` prints.
 */
import { readFileSync } from 'node:fs';

/** Who wrote a document. */
export interface ToolInfo {
  readonly name: string;
  readonly version: string;
}

let tool: ToolInfo | undefined;

/** oci-scan's name and version, from its package.json (dist/src/report → ../../../). */
export function toolInfo(): ToolInfo {
  if (!tool) {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { name: string; version: string };
    tool = { name: pkg.name, version: pkg.version };
  }
  return tool;
}
