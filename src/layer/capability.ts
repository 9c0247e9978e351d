/**
 * File capabilities: the `security.capability` xattr a runtime sets on an extracted file (from
 * the tar's PAX `SCHILY.xattr.security.capability` record) gives the program privileges at
 * exec, like setuid (docs/checks.md, check 7). The value is the kernel's `struct vfs_cap_data`
 * (revisions 1 and 2) or `struct vfs_ns_cap_data` (revision 3, with a namespace root uid),
 * little-endian (linux/capability.h); this decodes it to text in the style of `setcap`
 * (`cap_net_raw,cap_setuid+ep`).
 */

/** Capability names by number, as linux/capability.h defines them (0 … 40). */
export const CAPABILITY_NAMES: readonly string[] = [
  'cap_chown',
  'cap_dac_override',
  'cap_dac_read_search',
  'cap_fowner',
  'cap_fsetid',
  'cap_kill',
  'cap_setgid',
  'cap_setuid',
  'cap_setpcap',
  'cap_linux_immutable',
  'cap_net_bind_service',
  'cap_net_broadcast',
  'cap_net_admin',
  'cap_net_raw',
  'cap_ipc_lock',
  'cap_ipc_owner',
  'cap_sys_module',
  'cap_sys_rawio',
  'cap_sys_chroot',
  'cap_sys_ptrace',
  'cap_sys_pacct',
  'cap_sys_admin',
  'cap_sys_boot',
  'cap_sys_nice',
  'cap_sys_resource',
  'cap_sys_time',
  'cap_sys_tty_config',
  'cap_mknod',
  'cap_lease',
  'cap_audit_write',
  'cap_audit_control',
  'cap_setfcap',
  'cap_mac_override',
  'cap_mac_admin',
  'cap_syslog',
  'cap_wake_alarm',
  'cap_block_suspend',
  'cap_audit_read',
  'cap_perfmon',
  'cap_bpf',
  'cap_checkpoint_restore',
];

/** `VFS_CAP_REVISION_MASK`, the revisions and `VFS_CAP_FLAGS_EFFECTIVE` of linux/capability.h. */
const REVISION_MASK = 0xff000000;
const REVISION_1 = 0x01000000;
const REVISION_2 = 0x02000000;
const REVISION_3 = 0x03000000;
const FLAGS_EFFECTIVE = 0x000001;
/** `XATTR_CAPS_SZ_1`, `_2`, `_3`: the only sizes the kernel accepts for each revision. */
const SIZE_BY_REVISION = new Map([
  [REVISION_1, 12],
  [REVISION_2, 20],
  [REVISION_3, 24],
]);

/** A decoded capability xattr, or why it could not be decoded. */
export type FileCapabilities =
  | {
      readonly ok: true;
      /** `cap_setuid+ep`, `cap_net_raw+p cap_sys_admin+i`; `(empty set)` when no capability is set. */
      readonly text: string;
      /** Revision 3 only: the uid that is root in the user namespace the capabilities apply to. */
      readonly rootid?: number;
    }
  | { readonly ok: false; readonly text: string };

/** Name of capability `bit` (`cap_41` past the ones the kernel names today). */
function capName(bit: number): string {
  return CAPABILITY_NAMES[bit] ?? `cap_${bit}`;
}

/** Decodes the bytes of a `security.capability` xattr. */
export function decodeCapabilities(value: Uint8Array): FileCapabilities {
  const bytes = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (bytes.length < 4) return { ok: false, text: `could not be decoded (${bytes.length} bytes, too short for a capability set)` };
  const magic = bytes.readUInt32LE(0);
  const revision = (magic & REVISION_MASK) >>> 0;
  const size = SIZE_BY_REVISION.get(revision);
  if (size === undefined)
    return { ok: false, text: `could not be decoded (unknown revision, magic 0x${magic.toString(16).padStart(8, '0')})` };
  if (bytes.length !== size)
    return { ok: false, text: `could not be decoded (${bytes.length} bytes for revision ${revision >>> 24}, which has ${size})` };
  // Revision 1: one 32-bit word of each set; 2 and 3: two words (lo, hi) of each.
  const words = revision === REVISION_1 ? 1 : 2;
  const permitted: boolean[] = [];
  const inheritable: boolean[] = [];
  for (let w = 0; w < words; w++) {
    const p = bytes.readUInt32LE(4 + w * 8);
    const i = bytes.readUInt32LE(8 + w * 8);
    for (let b = 0; b < 32; b++) {
      permitted[w * 32 + b] = ((p >>> b) & 1) === 1;
      inheritable[w * 32 + b] = ((i >>> b) & 1) === 1;
    }
  }
  const effective = (magic & FLAGS_EFFECTIVE) !== 0;
  // Capabilities grouped by their flags, in the order setcap prints them.
  const groups = new Map<string, string[]>();
  for (let bit = 0; bit < words * 32; bit++) {
    const p = permitted[bit] === true;
    const i = inheritable[bit] === true;
    if (!p && !i) continue;
    // The effective flag is one bit for the file: every capability the program gets is raised.
    const flags = `${effective ? 'e' : ''}${i ? 'i' : ''}${p ? 'p' : ''}`;
    const names = groups.get(flags) ?? [];
    names.push(capName(bit));
    groups.set(flags, names);
  }
  const text = groups.size === 0 ? '(empty set)' : [...groups].map(([flags, names]) => `${names.join(',')}+${flags}`).join(' ');
  if (revision === REVISION_3) return { ok: true, text, rootid: bytes.readUInt32LE(20) };
  return { ok: true, text };
}

/** What a finding's description says of a capability xattr: `file capabilities cap_setuid+ep`, or that it could not be decoded. */
export function capabilityText(value: Uint8Array): string {
  const caps = decodeCapabilities(value);
  if (!caps.ok) return `a security.capability xattr that ${caps.text}`;
  return `file capabilities ${caps.text}${caps.rootid !== undefined && caps.rootid !== 0 ? ` (for the user namespace whose root is uid ${caps.rootid})` : ''}`;
}
