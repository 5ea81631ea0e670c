/** Control words shared by bench/peers/ceiling.ts and its workers, each on its own 64-byte line. */
export const CONTROL = { generation: 0, iterations: 16, done: 32, words: 48 } as const;
