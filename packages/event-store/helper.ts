export const helper = (): number => 42
