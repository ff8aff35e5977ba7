#!/usr/bin/python3
# Publishes "<prefix> #<n>" on ~topic (default /chatter) at ~rate Hz.
# The shebang names Debian's python3 on purpose: rospy lives in its dist-packages, and
# "#!/usr/bin/env python3" would pick any python3 first in PATH (a venv or pyenv without rospy).
import contextlib

import rospy
from std_msgs.msg import String


def main():
    rospy.init_node("talker")
    publisher = rospy.Publisher(rospy.get_param("~topic", "/chatter"), String, queue_size=10)
    rate = rospy.Rate(float(rospy.get_param("~rate", 10)))
    prefix = rospy.get_param("~prefix", "hello")
    count = 0
    while not rospy.is_shutdown():
        publisher.publish(String(data="%s #%d" % (prefix, count)))
        count += 1
        rate.sleep()


if __name__ == "__main__":
    with contextlib.suppress(rospy.ROSInterruptException):
        main()
