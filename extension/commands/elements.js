// TODO(helper): elements commands.
export const elementCommands = {};
