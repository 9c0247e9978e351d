/**
 * `oci-scan --help` (docs/usage.md): written by hand and wrapped at word boundaries to 80
 * columns, whatever the terminal or pipe — generated help cut words in two ("requirem/ents").
 */

/** `text` wrapped at spaces into lines of at most `width` characters (a longer word gets its own line). */
export function wrapWords(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter((w) => w !== '')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line === '' ? word : `${line} ${word}`;
    }
  }
  if (line !== '') lines.push(line);
  return lines;
}

/** Options and what they do, in the order `--help` lists them. */
const OPTIONS: ReadonlyArray<readonly [string, string]> = [
  [
    '--format F[=FILE]',
    'legacy (the default: a report file per image in --reports-dir and the check lines), json, sarif, junit, table or html; repeatable, each to its FILE ("-": stdout, at most one format there)',
  ],
  [
    '-o, --output FILE',
    'where the single --format writes ("-": stdout, the default); alone, the format is the extension\'s (.sarif .json .xml .txt .html)',
  ],
  ['-q, --quiet', 'print only the failed checks and a summary line'],
  ['--list-checks', 'print the checks (a table, or JSON with --format json) and exit'],
  ['--progress MODE', 'auto (the default: tty on a terminal, else plain), tty, plain or none; on stderr'],
  ['--reports-dir DIR', 'directory of the legacy report files [COMPLIANCE_REPORTS_DIR, default reports]'],
  [
    '--json-stdout',
    'also print the legacy reports on stdout as one object keyed by image (the check lines go to stderr) [COMPLIANCE_JSON_STDOUT]',
  ],
  ['--platform P', 'os/arch[/variant] to scan in a multi-platform image, or "all" [linux/amd64]'],
  ['--insecure-registry H', 'HOST[:PORT] to reach over plain HTTP (repeatable)'],
  ['--registry-mirror S=M', 'pull SOURCE through MIRROR, e.g. docker.io=mirror.local:5000 (repeatable)'],
  ['--ca-file FILE', 'PEM file of extra CA certificates to trust for registries'],
  ['--max-layer-size N', 'largest uncompressed layer to read, e.g. 8g [64g]'],
  ['--timeout T', 'give up the run after T: 90, 90s, 10m or 1h (0: no limit)'],
  ['--cache-dir DIR', 'layer-facts cache directory [OCI_SCAN_CACHE_DIR, else $XDG_CACHE_HOME/oci-scan, else ~/.cache/oci-scan]'],
  ['--no-cache', 'read every layer: no layer-facts cache'],
  ['--cache-max-size N', 'largest size of the cache before the least recently used entries go, e.g. 1g [256m]'],
  ['--allow-unscanned-layers', 'judge the layers that were scanned when some could not be (foreign layers)'],
  [
    '--base REF',
    "the base image (any IMAGE form): its layers are the inherited ones, the others introduced [the manifest's org.opencontainers.image.base.* annotations]",
  ],
  [
    '--checks SET',
    "default (the 17 checks), extended or all (the extended checks too, after the 17; see docs/checks.md) [the policy's profile, else default]",
  ],
  [
    '--policy FILE',
    'policy: checks disabled or re-rated, findings accepted, check data [.oci-scan.yaml|yml|json in the working directory]',
  ],
  ['--fail-on SEV', 'exit 0 unless a finding that was not accepted is at or above SEV: Critical, High, Medium, Low or none'],
  ['--exit-code N', "the exit code when the --fail-on threshold is met [the highest severity's code]; alone, any failure meets it"],
  ['--log-level L', 'logs on stderr: fatal, error, warn (default), info, debug, trace, silent'],
  ['--log-format F', 'human (one line: "oci-scan: warning: …") or json (pino lines) [human; json with --log-level info/debug/trace]'],
  ['--color, --no-color', 'colour the check lines [when stdout is a terminal; NO_COLOR, FORCE_COLOR]'],
  [
    '--attach',
    "once the reports are written, push each image's verdict to its registry as an OCI 1.1 artifact referring to the image (docs/attest.md)",
  ],
  [
    '--sign-key FILE',
    'with --attach: sign the verdict (in-toto statement, Sigstore bundle) with this ECDSA P-256 private key in PEM [OCI_SCAN_SIGN_KEY: the PEM itself]',
  ],
  ['-h, --help', 'this help'],
  ['--version', 'the version of oci-scan'],
];

const WIDTH = 80;
const COLUMN = 26;

function para(text: string, indent = ''): string {
  return wrapWords(text, WIDTH - indent.length)
    .map((l) => indent + l)
    .join('\n');
}

function table(rows: ReadonlyArray<readonly [string, string]>): string {
  return rows
    .map(([left, right]) => {
      const [first = '', ...rest] = wrapWords(right, WIDTH - COLUMN);
      const head = left.length + 2 < COLUMN ? `  ${left.padEnd(COLUMN - 2)}${first}` : `  ${left}\n${' '.repeat(COLUMN)}${first}`;
      return [head, ...rest.map((l) => ' '.repeat(COLUMN) + l)].join('\n');
    })
    .join('\n');
}

/** The whole help text of the scan command. */
export const SCAN_HELP = [
  'Usage: oci-scan [scan] [IMAGE...] [options]',
  '',
  para(
    'Checks container images against compliance requirements, straight from a registry or an image archive, with no container engine. Every IMAGE is scanned in one run.',
  ),
  '',
  'IMAGE (default: $COMPLIANCE_IMAGE_FULL_REF):',
  table([
    ['REF, docker://REF', 'a registry reference: alpine, ghcr.io/org/app:1.2, host:5000/app@sha256:…'],
    ['oci:DIR[:TAG]', 'an OCI image layout directory'],
    ['oci-archive:FILE[:TAG]', 'a tar of an OCI image layout'],
    ['docker-archive:FILE[:REPO:TAG]', 'a docker save / podman save archive'],
    ['./PATH, /PATH', 'a path on disk: the transport is read from its content'],
  ]),
  '',
  'Options:',
  table(OPTIONS),
  '',
  'Environment:',
  table([
    ['COMPLIANCE_IMAGE_FULL_REF', 'the IMAGE when none is given'],
    ['COMPLIANCE_REPORTS_DIR', 'the legacy reports directory (--reports-dir)'],
    ['COMPLIANCE_JSON_STDOUT', 'true: as --json-stdout'],
    ['DOCKER_AUTH_CONFIG', 'registry credentials as a docker config.json (else ~/.docker/config.json, podman auth.json)'],
    [
      'CRITICAL_EXIT_CODE',
      'exit code when Critical is the highest severity; likewise HIGH_EXIT_CODE, MEDIUM_EXIT_CODE, LOW_EXIT_CODE, INFORMATIONAL_EXIT_CODE',
    ],
    ['OCI_SCAN_PROGRESS', 'the default of --progress'],
    ['OCI_SCAN_CACHE_DIR', 'the layer-facts cache directory (--cache-dir)'],
    ['OCI_SCAN_SIGN_KEY', 'the PEM of the --sign-key (a masked CI variable)'],
    ['SOURCE_DATE_EPOCH', 'with --attach: the time the verdict states, in seconds [now]'],
    ['NO_COLOR, FORCE_COLOR', 'colour of the check lines'],
  ]),
  '',
  'Exit codes:',
  table([
    ['0', 'every check passed (or only Informational results)'],
    ['12 13 14 15', 'the highest severity found: Critical, High, Medium, Low'],
    ['2', 'usage error'],
    ['20', 'the image could not be pulled or opened'],
    ['21', 'the image is invalid or has no matching platform'],
    ['22', 'no IMAGE given'],
    ['23', 'a report could not be written'],
    ['24', '--attach: a verdict could not be attached (the reports were written)'],
    ['130, 143', 'interrupted (SIGINT, SIGTERM)'],
    ['1', 'internal error (a bug in oci-scan: please report it)'],
  ]),
  '',
  'Examples:',
  '  oci-scan alpine:3.20',
  '  oci-scan ./app.tar --format table --quiet',
  '  oci-scan ghcr.io/org/app:1.2 --format sarif=oci-scan.sarif \\',
  '      --format junit=junit.xml',
  '',
  para(
    'Commands: scan (the default); audit (every image of a registry or layout: oci-scan audit --help; to scan an image named audit, write "oci-scan scan audit"); cache info|prune|clear (oci-scan cache --help); verify (an image\'s signed verdict: oci-scan verify --help). Checks and reports: docs/checks.md, docs/reports.md; CI: docs/ci.md.',
  ),
  '',
].join('\n');

/** The help text of the cache command. */
export const CACHE_HELP = [
  'Usage: oci-scan cache info|prune|clear [options]',
  '',
  para(
    'The layer-facts cache keeps what each layer of a scanned image holds, so that a re-scan of an image whose layers were seen before downloads no layer.',
  ),
  '',
  'Actions:',
  table([
    ['info', 'print the directory, its entries and their bytes'],
    ['prune', 'remove the least recently used entries beyond --cache-max-size'],
    ['clear', 'remove every entry (no other file of the directory)'],
  ]),
  '',
  'Options:',
  table([
    ['--cache-dir DIR', 'the cache directory [OCI_SCAN_CACHE_DIR, else $XDG_CACHE_HOME/oci-scan, else ~/.cache/oci-scan]'],
    ['--cache-max-size N', 'the budget of prune, e.g. 1g [256m]'],
    ['-h, --help', 'this help'],
  ]),
  '',
].join('\n');

/** The help text of the audit command. */
export const AUDIT_HELP = [
  'Usage: oci-scan audit REGISTRY[/PREFIX] | oci:DIR | --repos FILE [options]',
  '       oci-scan audit merge DIR... [options]',
  '',
  para(
    'Scans every image of a registry (every repository under PREFIX, from its catalog), of the repositories FILE names (HOST/REPOSITORY[:TAG], one a line) or of an OCI layout (every tagged image): each distinct manifest once, each distinct layer once and, through the cache, once across runs. Writes a legacy report per image and audit-summary.json into --reports-dir, and the audit table on stdout. Run again with the same --reports-dir, an interrupted audit skips the images already done. See docs/audit.md.',
  ),
  '',
  para(
    'Options (and those of oci-scan --help: --platform, --insecure-registry, --registry-mirror, --ca-file, --max-layer-size, --timeout, --cache-dir, --no-cache, --cache-max-size, --allow-unscanned-layers, --checks, --policy, --fail-on, --exit-code, --log-level):',
  ),
  table([
    ['--include GLOB', 'audit only repositories matching GLOB (repository path without host, * ? **; repeatable)'],
    ['--exclude GLOB', 'leave out repositories matching GLOB (repeatable)'],
    ['--tags REGEX', 'audit only tags matching REGEX (anchor it with ^...$)'],
    ['--latest-tags N', "only the N newest tags of each repository (semantic-version order, else the listing's last N)"],
    ['--shard I/N', 'audit the I-th of N parts (1-based; a stable hash of repository:tag)'],
    ['--shards N', 'N parts, the part from JOB_COMPLETION_INDEX (Kubernetes Indexed Job; CI_NODE_INDEX/CI_NODE_TOTAL need no flag)'],
    ['--concurrency N', 'images resolved or scanned at once [four per core, 4 to 16]'],
    ['--rate N', 'per registry, at most N images started per second; halves on 429 [0: no limit]'],
    ['--page-size N', 'entries asked for per catalog and tag-list page [100]'],
    ['--fresh', 'scan every image again, ignoring the reports a previous run left'],
    ['--allow-empty', 'exit 0 when the audit matches no image (default: exit 22, a typo must not pass)'],
    [
      '--reuse-attestations',
      'do not scan an image whose valid signed verdict (--key, --max-age, as oci-scan verify checks it) was made for the same reference; its report is written from it',
    ],
    ['--key FILE', 'with --reuse-attestations: the ECDSA P-256 public key (PEM) of the verdicts'],
    ['--max-age T', 'with --reuse-attestations: the oldest verdict taken: 7d, 36h; 0 for any [7d]'],
    [
      '--attach',
      "push each scanned image's verdict to its registry (--sign-key FILE or OCI_SCAN_SIGN_KEY signs it), as oci-scan --attach does",
    ],
    ['--reports-dir DIR', 'the report files and audit-summary.json [COMPLIANCE_REPORTS_DIR, default reports]'],
    [
      '--format F[=FILE]',
      'json, sarif or junit for the whole audit, table or html (the summary); repeatable ("-": stdout) [table on stdout]',
    ],
    ['-q, --quiet', 'no progress line per image on stderr'],
    ['-h, --help', 'this help'],
  ]),
  '',
  'Exit codes:',
  table([
    ['0, 12-15', 'the highest severity over every image (as for scans; --fail-on applies)'],
    ['20', 'the listing failed (catalog, layout) or, for merge, a shard is missing'],
    ['22', 'the audit matched no image (a prefix or filter that matches nothing; --allow-empty: 0)'],
    ['24', '--attach: a verdict could not be attached (its line says which; the reports were written)'],
    ['2', 'usage error'],
    ['130, 143', 'interrupted: audit-summary.json is written, marked incomplete'],
  ]),
  '',
  'Examples:',
  '  oci-scan audit registry.local:5000/team --latest-tags 3',
  '  oci-scan audit oci:./mirror --format sarif=audit.sarif',
  '  oci-scan audit registry.local:5000 --shard 2/8 --reports-dir reports/2',
  '  oci-scan audit merge reports/* --reports-dir merged',
  '',
].join('\n');

/** The help text of `audit merge`. */
export const AUDIT_MERGE_HELP = [
  'Usage: oci-scan audit merge DIR... [options]',
  '',
  para(
    "Merges the audit-summary.json of each shard's reports directory into one summary in --reports-dir, the summary an unsharded audit would have written, with the same exit code; names the shards that are missing (exit 20).",
  ),
  '',
  'Options:',
  table([
    ['--reports-dir DIR', 'where the merged audit-summary.json goes [COMPLIANCE_REPORTS_DIR, default reports]'],
    [
      '--format F[=FILE]',
      'json, sarif or junit for the whole audit, table or html (the summary); repeatable ("-": stdout) [table on stdout]',
    ],
    ['--fail-on SEV', 'as for scans'],
    ['--exit-code N', 'as for scans'],
    ['-h, --help', 'this help'],
  ]),
  '',
].join('\n');

/** The help text of the verify command. */
export const VERIFY_HELP = [
  'Usage: oci-scan verify IMAGE --key PUB [options]',
  '',
  para(
    "Finds the verdicts oci-scan --attach --sign-key attached to IMAGE (through the registry's referrers API, or the referrers tag sha256-HEX) and takes the newest valid one: signed with PUB, about this very manifest, by an oci-scan of the same major.minor version, under the same policy, not older than --max-age. Prints its results as a scan would and exits as that scan would have. Downloads no layer. See docs/attest.md.",
  ),
  '',
  'Options:',
  table([
    ['--key FILE', 'the ECDSA P-256 public key (PEM) the verdicts were signed with (required)'],
    ['--policy FILE', 'the policy the verdict must have been made under [.oci-scan.yaml|yml|json in the working directory, else none]'],
    ['--max-age T', 'refuse verdicts older than T: 7d, 36h, 90m, 3600s; 0 for any age [7d]'],
    ['--format F', 'terminal (the check lines) or json (what was verified, on stdout) [terminal]'],
    ['--fail-on SEV', 'as for scans'],
    ['--exit-code N', 'as for scans'],
    ['--platform P', 'os/arch[/variant] of a multi-platform image [linux/amd64]'],
    ['--insecure-registry H', 'as for scans (also --registry-mirror, --ca-file, --timeout, --log-level, --log-format, --color)'],
    ['-h, --help', 'this help'],
  ]),
  '',
  'Exit codes:',
  table([
    ['0, 12-15', 'verified: the attested highest severity, as the scan exited (--fail-on applies)'],
    [
      '25',
      'no valid attestation: none, bad signature, another key, another image, another version, another policy, too old (the line says which)',
    ],
    ['2, 20, 21', 'usage error; the image could not be read from its registry'],
  ]),
  '',
  'Example:',
  '  oci-scan verify ghcr.io/org/app:1.2 --key oci-scan.pub --max-age 1d',
  '',
].join('\n');
