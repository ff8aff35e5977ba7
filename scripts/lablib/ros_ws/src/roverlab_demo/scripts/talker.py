"""Publishes "<prefix> #<n>" on ~topic (default /chatter) at ~rate Hz (started by scripts/talker)."""

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
