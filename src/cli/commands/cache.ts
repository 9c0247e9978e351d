/**
 * `oci-scan cache info|prune|clear [--cache-dir DIR] [--cache-max-size N]` (docs/cache.md):
 * what the layer-facts cache holds, prune it to its budget, or remove its entries — only its
 * entries, never another file of the directory.
 */
import yargs from 'yargs';
import { OciScanError } from '../../errors.js';
import { cacheStats, clearCache, pruneCache } from '../../store/disk.js';
import { cacheConfig, type CacheConfig } from '../cache-options.js';
import { CACHE_HELP } from '../help.js';
import { strictParser } from '../options.js';
import { emit } from '../output.js';
import type { Command, Invocation } from './command.js';

/** The actions of `oci-scan cache`. */
export const CACHE_ACTIONS = ['info', 'prune', 'clear'] as const;
/** One action of `oci-scan cache`. */
export type CacheAction = (typeof CACHE_ACTIONS)[number];

function isAction(word: string | undefined): word is CacheAction {
  return CACHE_ACTIONS.some((a) => a === word);
}

async function runCache(action: CacheAction, config: CacheConfig): Promise<number> {
  try {
    if (action === 'info') {
      const { entries, bytes } = await cacheStats(config.dir);
      await emit(process.stdout, `dir: ${config.dir}\nentries: ${entries}\nbytes: ${bytes}\nmax bytes: ${config.maxBytes}\n`);
    } else if (action === 'prune') {
      const { entries, bytes } = await pruneCache(config.dir, config.maxBytes);
      await emit(process.stdout, `pruned ${config.dir} to ${entries} entries, ${bytes} bytes (max ${config.maxBytes})\n`);
    } else {
      const removed = await clearCache(config.dir);
      await emit(process.stdout, `removed ${removed} entries from ${config.dir}\n`);
    }
  } catch (err) {
    const code = typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : 'error';
    throw new OciScanError('USAGE', `cannot ${action} the cache directory ${config.dir} (${code}): check --cache-dir and its permissions`);
  }
  return 0;
}

/** The `cache` command. */
export const cacheCommand: Command = {
  name: 'cache',
  async parse(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<Invocation | undefined> {
    let usageError: string | undefined;
    const args = await strictParser(
      yargs([...argv])
        .scriptName('oci-scan cache')
        .help(false)
        .version(false)
        .command('$0 [action]', false)
        .positional('action', { type: 'string' })
        .option('cache-dir', { type: 'string', requiresArg: true })
        .option('cache-max-size', { type: 'string', requiresArg: true }),
      (message) => (usageError = message),
      argv,
    ).parseAsync();
    if (usageError) throw new OciScanError('USAGE', `${usageError} (see oci-scan cache --help)`);
    if (args.help) {
      await emit(process.stdout, CACHE_HELP);
      return undefined;
    }
    const action = args.action;
    if (!isAction(action))
      throw new OciScanError(
        'USAGE',
        `oci-scan cache needs one of ${CACHE_ACTIONS.join(', ')}${action === undefined ? '' : `, not ${JSON.stringify(action)}`} (see oci-scan cache --help)`,
      );
    for (const name of ['cache-dir', 'cache-max-size'] as const) {
      if (Array.isArray(args[name])) throw new OciScanError('USAGE', `--${name} was given more than once (see oci-scan cache --help)`);
    }
    const config = cacheConfig(args['cache-dir'], args['cache-max-size'], env);
    return { logLevel: 'warn', timeoutSeconds: 0, run: () => runCache(action, config) };
  },
};
