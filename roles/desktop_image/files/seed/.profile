# ~/.profile of the desktop user (login shells): the same setup as interactive shells.
if [ -n "$BASH_VERSION" ] && [ -f "$HOME/.bashrc" ]; then
  . "$HOME/.bashrc"
fi
