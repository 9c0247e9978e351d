/**
 * Decoding the security.capability xattr (src/layer/capability.ts): the kernel's vfs_cap_data
 * (revisions 1 and 2) and vfs_ns_cap_data (3), little-endian, as linux/capability.h lays them
 * out; anything else is "could not be decoded". The bytes are built field by field here; the
 * real setcap's are compared in test/integration/capabilities.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CAPABILITY_NAMES, capabilityText, decodeCapabilities } from '../../../src/layer/capability.js';

/** magic_etc, then permitted/inheritable word pairs, then (v3) the root uid, each 32-bit little-endian. */
function caps(magic: number, words: readonly number[], rootid?: number): Buffer {
  const all = [magic, ...words, ...(rootid === undefined ? [] : [rootid])];
  const b = Buffer.alloc(all.length * 4);
  all.forEach((w, i) => b.writeUInt32LE(w >>> 0, i * 4));
  return b;
}
const bit = (n: number): number => (1 << n) >>> 0;

describe('decodeCapabilities', () => {
  it('names the capabilities of linux/capability.h, 0 to 40', () => {
    assert.equal(CAPABILITY_NAMES.length, 41);
    assert.equal(CAPABILITY_NAMES[7], 'cap_setuid');
    assert.equal(CAPABILITY_NAMES[21], 'cap_sys_admin');
    assert.equal(CAPABILITY_NAMES[40], 'cap_checkpoint_restore');
  });

  it('revision 2: permitted and effective (setcap cap_setuid+ep)', () => {
    assert.deepEqual(decodeCapabilities(caps(0x02000001, [bit(7), 0, 0, 0])), { ok: true, text: 'cap_setuid+ep' });
    assert.equal(capabilityText(caps(0x02000001, [bit(7), 0, 0, 0])), 'file capabilities cap_setuid+ep');
  });

  it('groups capabilities by their flags, in number order; the high word is capabilities 32 and up', () => {
    const value = caps(0x02000000, [bit(13) | bit(10), bit(21), bit(40 - 32), 0]);
    assert.deepEqual(decodeCapabilities(value), {
      ok: true,
      text: 'cap_net_bind_service,cap_net_raw,cap_checkpoint_restore+p cap_sys_admin+i',
    });
    // Effective raises every capability the program gets, permitted or inheritable.
    assert.deepEqual(decodeCapabilities(caps(0x02000001, [bit(0), bit(0) | bit(1), 0, 0])), {
      ok: true,
      text: 'cap_chown+eip cap_dac_override+ei',
    });
  });

  it('names capabilities past cap_checkpoint_restore by number', () => {
    assert.deepEqual(decodeCapabilities(caps(0x02000000, [0, 0, bit(63 - 32), 0])), { ok: true, text: 'cap_63+p' });
  });

  it('revision 3 carries the uid that is root in the namespace the capabilities apply to', () => {
    assert.deepEqual(decodeCapabilities(caps(0x03000001, [bit(7), 0, 0, 0], 1000)), { ok: true, text: 'cap_setuid+ep', rootid: 1000 });
    assert.equal(
      capabilityText(caps(0x03000001, [bit(7), 0, 0, 0], 1000)),
      'file capabilities cap_setuid+ep (for the user namespace whose root is uid 1000)',
    );
    assert.equal(capabilityText(caps(0x03000001, [bit(7), 0, 0, 0], 0)), 'file capabilities cap_setuid+ep');
  });

  it('revision 1: one 32-bit word of each set', () => {
    assert.deepEqual(decodeCapabilities(caps(0x01000001, [bit(12), 0])), { ok: true, text: 'cap_net_admin+ep' });
  });

  it('an empty set decodes, and says so', () => {
    assert.deepEqual(decodeCapabilities(caps(0x02000000, [0, 0, 0, 0])), { ok: true, text: '(empty set)' });
  });

  it('anything the kernel would not accept is "could not be decoded", with why', () => {
    const cases: Array<[string, Buffer, RegExp]> = [
      ['too short', Buffer.from([1, 2]), /2 bytes, too short/],
      ['unknown revision', caps(0x04000000, [0, 0, 0, 0]), /unknown revision, magic 0x04000000/],
      ['a revision 2 value of revision 3 size', caps(0x02000000, [0, 0, 0, 0], 0), /24 bytes for revision 2, which has 20/],
      ['a revision 3 value of revision 2 size', caps(0x03000000, [bit(7), 0, 0, 0]), /20 bytes for revision 3, which has 24/],
      ['empty', Buffer.alloc(0), /0 bytes/],
    ];
    for (const [what, value, reason] of cases) {
      const r = decodeCapabilities(value);
      assert.equal(r.ok, false, what);
      assert.match(r.text, reason, what);
      assert.match(capabilityText(value), /^a security\.capability xattr that could not be decoded/, what);
    }
  });
});
