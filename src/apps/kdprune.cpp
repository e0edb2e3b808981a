// kdprune: subcommand dispatch only (see src/apps/commands.h).
int main() { return 0; }
