# ~/.bashrc of the desktop user: seeded once into your /my_ros_data volume, yours to change.
case $- in *i*) ;; *) return ;; esac
# the desktop's environment (ROS_MASTER_URI and friends) and the catkin workspace
. /etc/profile.d/roverlab-desktop.sh
HISTCONTROL=ignoreboth
HISTSIZE=5000
shopt -s histappend checkwinsize
PS1='\u@\h:\w\$ '
alias ls='ls --color=auto'
