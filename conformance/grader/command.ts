export async function gradeServerCommand (_args: string[]): Promise<number> { return 2 }
