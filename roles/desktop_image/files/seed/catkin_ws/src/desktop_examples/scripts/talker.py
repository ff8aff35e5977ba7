"""Publish a counter on /desktop_chatter once a second."""

import rospy
from std_msgs.msg import String


def main():
    rospy.init_node("desktop_talker")
    pub = rospy.Publisher("desktop_chatter", String, queue_size=10)
    rate = rospy.Rate(1)
    count = 0
    while not rospy.is_shutdown():
        pub.publish(String(data="hello from the desktop %d" % count))
        count += 1
        rate.sleep()


if __name__ == "__main__":
    main()
