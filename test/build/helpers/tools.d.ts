/** true if `tool` runs here. */
export declare function hasTool(tool: string): boolean;
/**
 * For `test(name, { skip: missingTool('dig') }, …)`: false when present, else the one line that says what is missing.
 */
export declare function missingTool(...tools: string[]): string | false;
/** Network namespaces need root and `ip netns`. */
export declare function missingNetns(): string | false;
