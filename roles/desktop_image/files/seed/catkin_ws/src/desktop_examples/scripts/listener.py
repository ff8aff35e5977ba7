"""Print what arrives on a topic (default /chatter, as the lab robots' talker publishes)."""

import sys

import rospy
from std_msgs.msg import String


def main():
    rospy.init_node("desktop_listener", anonymous=True)
    topic = sys.argv[1] if len(sys.argv) > 1 and not sys.argv[1].startswith("__") else "chatter"
    rospy.Subscriber(topic, String, lambda msg: rospy.loginfo("%s: %s", topic, msg.data))
    rospy.spin()


if __name__ == "__main__":
    main()
