// TODO(helper): tabs commands.
export const tabCommands = {};
