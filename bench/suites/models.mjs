export const name = 'models';
export function targets() { return {}; }
export async function run() { return []; }
