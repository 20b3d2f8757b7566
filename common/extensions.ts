/**
 * Values cross every boundary in wray as MessagePack (docs/protocol.md).
 * Extension types, shared with every guest SDK's codec:
 *   1  ObjectRef    20-byte object ID
 *   2  ActorHandle  16-byte actor ID
 *   3  binary       1 byte kind, then the bytes: a typed array's
 *                   little-endian elements (kinds 1-10), an ArrayBuffer
 *                   (kind 0), a DataView's bytes (kind 11)
 *   4  Map          one MessagePack map: its entries, keys of any type
 *   5  Set          one MessagePack array: its elements
 *  -1  Date         the MessagePack timestamp
 * (A module of its own so that the codec and msgpack-walk.ts, which use
 * each other, both take them from here.)
 */
export const EXT_OBJECT_REF = 1;
export const EXT_ACTOR_HANDLE = 2;
export const EXT_TYPED_ARRAY = 3;
export const EXT_MAP = 4;
export const EXT_SET = 5;
/** Kinds of extension 3 that are not typed arrays. */
export const BINARY_ARRAY_BUFFER = 0;
export const BINARY_DATA_VIEW = 11;
