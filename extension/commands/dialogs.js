// TODO(helper): dialogs commands.
export const dialogCommands = {};
