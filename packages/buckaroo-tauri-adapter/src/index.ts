export { TauriIPCModel, RENDER_FUNC, type IModel, type TauriIPCModelOptions, type Handler } from "./model.js";
export { mountBuckaroo, DEFAULT_WIDGET_URL, type MountOptions, type BuckarooHandle, type WidgetModule } from "./mount.js";
export * as commands from "./commands.js";
export { onStatus, whenReady, retry, attach, loadPath, loadExpr, loadCompare, pickFile, send, status, health, diagnostics } from "./commands.js";
export * from "./protocol.js";
