/**
 * Duplicate keys in JSON text. `JSON.parse` keeps the last of two equal keys without a word, so a file
 * could show one reader a tensor and another reader a different one under the same name. This scan
 * finds the first key that appears twice in one object, in one pass over the text and with memory for
 * its keys only (an explicit stack, so deep nesting cannot overflow the call stack).
 */

/** A key found twice in one object: `key`, and the key of the top-level entry holding that object. */
export interface DuplicateKey {
  readonly key: string;
  /** The enclosing depth-1 key when the object is nested in one (undefined for the top level). */
  readonly within: string | undefined;
  /** 1 for the top-level object, 2 for an object that is a top-level value, and so on. */
  readonly depth: number;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** The first duplicate key in `text`, which must already be valid JSON (it is not checked again). */
export function findDuplicateKey(text: string): DuplicateKey | undefined {
  // One entry per open object (its keys so far) or array (null).
  const open: (Set<string> | null)[] = [];
  let topKey: string | undefined;
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      let end = i + 1;
      let escaped = false;
      for (;;) {
        const d = text.charCodeAt(end);
        if (d === BACKSLASH) {
          escaped = true;
          end += 2;
        } else if (d === QUOTE || Number.isNaN(d)) break;
        else end++;
      }
      const keys = open[open.length - 1];
      if (expectKey && keys) {
        // A key with escapes is compared decoded: "a" and "\u0061" are the same key.
        const key = escaped ? (JSON.parse(text.slice(i, end + 1)) as string) : text.slice(i + 1, end);
        if (keys.has(key)) return { key, within: open.length > 1 ? topKey : undefined, depth: open.length };
        keys.add(key);
        if (open.length === 1) topKey = key;
        expectKey = false;
      }
      i = end;
    } else if (c === 0x7b /* { */) {
      open.push(new Set());
      expectKey = true;
    } else if (c === 0x5b /* [ */) {
      open.push(null);
      expectKey = false;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      open.pop();
      expectKey = false;
    } else if (c === 0x2c /* , */) {
      expectKey = open[open.length - 1] !== null && open.length > 0;
    }
  }
  return undefined;
}
