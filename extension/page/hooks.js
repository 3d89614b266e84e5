// TODO(helper): page hooks (console, errors, dialogs) in the content-script world.
