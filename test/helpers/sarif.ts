/**
 * SARIF checks for tests: the official SARIF 2.1.0 JSON schema as @microsoft/sarif-multitool
 * ships it (sarif-2.1.0.json, draft 2020-12, in the package of this platform that it installs
 * as an optional dependency), compiled with ajv and ajv-formats; and that package's
 * Sarif.Multitool (Microsoft's SARIF SDK), a real consumer that parses a log and applies its
 * validation rules.
 */
import { execFile } from 'node:child_process';
import { access, chmod, constants } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

/** The platform package @microsoft/sarif-multitool installed for this machine. */
const PLATFORM_PACKAGE = `@microsoft/sarif-multitool-${process.platform === 'win32' ? 'win32' : process.platform === 'darwin' ? 'darwin' : 'linux'}`;

/** The official SARIF 2.1.0 schema file. */
export const SARIF_SCHEMA_PATH = createRequire(import.meta.url).resolve(`${PLATFORM_PACKAGE}/sarif-2.1.0.json`);

/** A validator for the SARIF 2.1.0 schema: undefined when `doc` is valid, else the errors. */
export function sarifValidator(): (doc: unknown) => string | undefined {
  const ajv = new Ajv2020({ allErrors: true, strict: false });
  addFormats.default(ajv);
  const validate = ajv.compile(JSON.parse(readFileSync(SARIF_SCHEMA_PATH, 'utf8')) as object);
  return (doc) => (validate(doc) ? undefined : JSON.stringify(validate.errors).slice(0, 2000));
}

/**
 * Runs `Sarif.Multitool validate FILE`; resolves with its output. npm may skip the package's
 * postinstall (`chmod u+x`), so the bit is set here when missing.
 */
export async function multitoolValidate(file: string): Promise<string> {
  const tool = join(dirname(SARIF_SCHEMA_PATH), process.platform === 'win32' ? 'Sarif.Multitool.exe' : 'Sarif.Multitool');
  if (
    !(await access(tool, constants.X_OK).then(
      () => true,
      () => false,
    ))
  )
    await chmod(tool, 0o755);
  return new Promise((resolve, reject) => {
    // The .NET runtime needs ICU unless told to use the invariant culture (no libicu required).
    execFile(
      tool,
      ['validate', file],
      { env: { ...process.env, DOTNET_SYSTEM_GLOBALIZATION_INVARIANT: '1' }, timeout: 120_000 },
      (err, stdout, stderr) => (err ? reject(new Error(`Sarif.Multitool failed: ${err.message} ${stderr}`)) : resolve(stdout + stderr)),
    );
  });
}
