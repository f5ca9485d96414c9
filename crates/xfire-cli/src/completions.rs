//! `xfire completions SHELL`: shell completion script on stdout (clap_complete).

use clap_complete::Shell;

/// Arguments of `xfire completions`.
#[derive(Debug, clap::Args)]
#[command(
    about = "Print a shell completion script (bash, zsh, fish, elvish, powershell)",
    after_help = "Examples:\n  xfire completions bash > ~/.local/share/bash-completion/completions/xfire\n  \
xfire completions zsh > ~/.zfunc/_xfire\n  xfire completions fish > ~/.config/fish/completions/xfire.fish"
)]
pub struct Args {
    /// The shell.
    pub shell: Shell,
}

/// Write the script for `args.shell` of command `cmd` to stdout.
pub fn run(args: Args, cmd: &mut clap::Command) -> anyhow::Result<()> {
    let name = cmd.get_name().to_string();
    clap_complete::generate(args.shell, cmd, name, &mut std::io::stdout());
    Ok(())
}
