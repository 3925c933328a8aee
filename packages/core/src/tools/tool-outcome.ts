/**
 * Whether a tool spec's result text is a failure report (made by `formatToolError`), so an
 * adapter can flag it the way its framework expects (MCP `isError`, LangChain status "error")
 * while the model still reads the same text. Success texts never start with "<tool> failed".
 */
export function isToolErrorText(toolName: string, text: string): boolean {
  return text.startsWith(`${toolName} failed`);
}
