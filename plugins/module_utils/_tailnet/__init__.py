# Copyright (c) 2026, Rover Lab infrastructure team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The tailnet's coordination server: Tailscale's API or a headscale server's, behind one interface.

PRIVATE to the roverlab.clouddesktop collection: not a public API, it may change without notice.
"""
