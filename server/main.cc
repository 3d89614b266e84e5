#include "server/app.h"

int main(int argc, char** argv) { return foxpool::server::Run(argc, argv); }
