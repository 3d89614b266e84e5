// TODO(helper): capture commands.
export const captureCommands = {};
