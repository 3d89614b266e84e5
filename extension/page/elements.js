// TODO(helper): the element library in the content-script world.
