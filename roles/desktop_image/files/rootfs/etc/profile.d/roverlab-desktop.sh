# shellcheck shell=sh
# The desktop's environment for login shells (SSH, terminals): what the container was started with, less its
# secrets (written by desktop-entrypoint), then the catkin workspace when it has been built.
if [ -r /run/desktop/session.env ]; then
  # shellcheck source=/dev/null
  . /run/desktop/session.env
fi
if [ -r "$HOME/catkin_ws/devel/setup.sh" ]; then
  # shellcheck source=/dev/null
  _CATKIN_SETUP_DIR="$HOME/catkin_ws/devel" . "$HOME/catkin_ws/devel/setup.sh"
fi
# ROS 1 over the tailnet: nodes on the robots call this desktop back, so it advertises its tailnet address (written
# by desktop-tailscale-up) unless ROS_IP or ROS_HOSTNAME is set already
if [ -z "${ROS_IP:-}" ] && [ -z "${ROS_HOSTNAME:-}" ] && [ -s /run/desktop/tailnet-ip ]; then
  ROS_IP=$(cat /run/desktop/tailnet-ip)
  export ROS_IP
fi
