export async function main(argv: string[]): Promise<number> {
  console.log("fixq", argv.length);
  return 0;
}
