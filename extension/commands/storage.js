// TODO(helper): storage commands.
export const storageCommands = {};
