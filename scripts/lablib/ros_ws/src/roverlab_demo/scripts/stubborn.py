# A badly behaved node: it ignores SIGINT and SIGTERM, so only SIGKILL ends it.
import signal
import time

import rospy

rospy.init_node("stubborn", disable_signals=True)
signal.signal(signal.SIGINT, signal.SIG_IGN)
signal.signal(signal.SIGTERM, signal.SIG_IGN)
while True:
    time.sleep(1)
