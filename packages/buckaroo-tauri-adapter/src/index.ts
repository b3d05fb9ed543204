export { TauriIPCModel, releaseChannel, RENDER_FUNC, rowWindowError, decodeRowsFrame, type IModel, type TauriIPCModelOptions, type Handler, type RowWindowEvent } from "./model.js";
export { decodeBatch } from "./frames.js";
export { pollFrames } from "./poll.js";
export { mountBuckaroo, DEFAULT_WIDGET_URL, type MountOptions, type BuckarooHandle, type LoadInProgress, type WidgetModule } from "./mount.js";
export * as commands from "./commands.js";
export {
  onStatus,
  whenReady,
  retry,
  cancelSetup,
  resetEnvironment,
  attach,
  poll,
  loadPath,
  loadExpr,
  reloadExpr,
  loadCompare,
  pickFile,
  pickBuild,
  pickExportPath,
  exportView,
  cancelExport,
  copyCells,
  copyText,
  listTables,
  openTable,
  saveConnection,
  savedConnections,
  forgetConnection,
  send,
  status,
  health,
  diagnostics,
} from "./commands.js";
export { StatsChannel, type StatsState } from "./stats.js";
export { WaitingRows, type RowsWaiting } from "./waiting.js";
export { CellSelection, SELECTED_CLASS, type CellBlock } from "./selection.js";
export { MARK_PREFIX, type LoadMark } from "./marks.js";
export * from "./protocol.js";
