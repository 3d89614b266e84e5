// TODO(helper): network commands.
export const networkCommands = {};
