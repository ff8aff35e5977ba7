"""A class roster: every bad row reported at once with its line number, by the desktop spec's rules; sizes by
name; removals from the last run's state; GPUs placed on the cluster's nodes."""

from ansible_collections.roverlab.clouddesktop.plugins.plugin_utils._desktop import roster

SETTINGS = {
    "image": "roverlab/desktop",
    "image_tag": "bookworm",
    "cuda_tag_suffix": "-cuda",
    "cpu": "2",
    "cpu_limit": "4",
    "memory": "4Gi",
    "memory_limit": "8Gi",
    "shm_size": "1Gi",
    "gpu": 0,
    "resolution": "1920x1080",
    "env": {},
    "reserved_names": ["ta"],
    "password_length": 20,
    "namespaces": {"prod": "clouddesktop-prod", "dev": "clouddesktop-dev"},
    "default_tier": "prod",
    "domain": "ros.example.org",
    "host_patterns": {"vnc": "vnc.{user}.{domain}", "code": "code.{user}.{domain}"},
    "storage": "30Gi",
}
SIZES = {"small": {"cpu": "1", "memory": "2Gi"}, "large": {"cpu": "4", "memory": "8Gi", "storage": "50Gi"}}
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBv7 alice@laptop"


def check(text, **kwargs):
    return roster.check(text, SETTINGS, SIZES, kwargs.pop("default_size", "small"), **kwargs)


def test_a_good_roster_becomes_desktop_entries():
    text = (
        "user,environment,size,gpu,email,key\nalice,prod,large,1,alice@example.edu,%s\n\n# a comment\nbob,,,,,\n" % KEY
    )
    result = check(text)
    assert result["problems"] == [], result["message"]
    assert result["entries"] == [
        {
            "name": "alice",
            "tier": "prod",
            "cpu": "4",
            "memory": "8Gi",
            "storage": "50Gi",
            "gpu": 1,
            "ssh_authorized_keys": [KEY],
        },
        {"name": "bob", "cpu": "1", "memory": "2Gi"},
    ]
    assert result["lines"] == {"alice": 2, "bob": 5}
    assert result["students"][0] == {"user": "alice", "email": "alice@example.edu", "line": 2, "tier": "prod"}
    assert result["gpu_rows"] == [{"name": "alice", "amount": 1, "line": 2}]


def test_every_bad_row_is_reported_at_once_with_its_line():
    text = "\n".join(
        [
            "user,tier,size,gpu,email",
            "alice,prod,small,0,alice@example.edu",
            "Bob,prod,small,0,",  # bad name
            "alice,dev,small,0,",  # duplicate
            "carol,prod,huge,0,",  # unknown size
            "dave,stage,small,0,",  # unknown tier
            "erin,prod,small,two,",  # gpu not a number
            "frank,prod,small,0,not-an-address",
            "ta,prod,small,0,",  # reserved by the lab
            "kube-x,prod,small,0,",  # reserved by Kubernetes
            "gina,prod,small,0,,extra",
            ",prod,small,0,",
        ]
    )
    result = check(text, inventory_users=["gina2", "frank"])
    problems = result["problems"]
    expected = [
        "line 3 (Bob): name 'Bob' is not a DNS label",
        "line 4 (alice): user 'alice' is also on line 2",
        "line 5 (carol): size 'huge' is unknown (sizes: large, small)",
        "line 6 (dave): tier 'stage' is unknown",
        "line 7 (erin): gpu 'two' must be a whole number",
        "line 8 (frank): 'frank' is declared in the inventory's desktop_users too",
        "line 8 (frank): email 'not-an-address' is not an address",
        "line 9 (ta): name 'ta' is a reserved name",
        "line 10 (kube-x): name 'kube-x' starts with 'kube-'",
        "line 11: 6 fields, the header has 5",
        "line 12: no user",
    ]
    for words in expected:
        assert any(p.startswith(words) for p in problems), (words, problems)
    assert len(problems) == len(expected), problems
    assert result["message"].startswith("%d problem(s) in the roster, nothing was changed:" % len(expected))
    assert result["removed"] == []


def test_header_problems():
    result = check("name,tier\nalice,prod\n")
    assert result["problems"] == [
        "line 1: unknown column(s) name (columns: user, tier, size, gpu, email, key; environment is taken as tier)",
        "line 1: the header has no user column (the first line names the columns)",
    ]
    assert check("")["problems"] == ["the roster is empty (a header line, then one line per student)"]
    assert "column(s) user given twice" in check("user,user\na,b\n")["message"]


def test_bad_sizes_are_refused():
    result = roster.check("user\nalice\n", SETTINGS, {"tiny": {"cpu": "1", "gpu": 1}, "none": {}}, "medium")
    assert result["problems"] == [
        "roster size 'none' must give some of cpu, cpu_limit, memory, memory_limit, shm_size, storage",
        "roster size 'tiny': gpu cannot be set by a size "
        "(only cpu, cpu_limit, memory, memory_limit, shm_size, storage)",
        "the default roster size 'medium' is not one of the sizes (none, tiny)",
        "line 2 (alice): size 'medium' is unknown (sizes: none, tiny)",
    ]


def test_students_who_left_are_the_removals():
    previous = {"users": {"alice": {"name": "alice", "cpu": "1"}, "zoe": {"name": "zoe", "tier": "dev", "cpu": "4"}}}
    result = check("user\nalice\nbob\n", previous=previous)
    assert result["removed"] == [{"name": "zoe", "tier": "dev", "cpu": "4"}]
    assert result["users"] == ["alice", "bob"]


def node(name, gpus):
    return {
        "metadata": {"name": name},
        "status": {"allocatable": {"nvidia.com/gpu": str(gpus)}, "conditions": [{"type": "Ready", "status": "True"}]},
    }


def pod(user, gpus, node_name, label="clouddesktop.roverlab.io/user"):
    return {
        "metadata": {"labels": {label: user}},
        "spec": {"nodeName": node_name, "containers": [{"resources": {"limits": {"nvidia.com/gpu": str(gpus)}}}]},
        "status": {"phase": "Running"},
    }


def test_gpus_beyond_the_cluster_are_reported_by_line():
    text = "user,gpu\nalice,1\nbob,1\ncarol,2\ndave,0\n"
    result = check(text)
    nodes = [node("rover1", 2), node("rover2", 1)]
    # another team's pod holds one GPU of rover1; alice's own old pod gives hers back
    pods = [pod("other", 1, "rover1", label="app"), pod("alice", 1, "rover2")]
    checked = roster.check_gpus(result, nodes, pods, "nvidia.com/gpu", "clouddesktop.roverlab.io/user")
    assert checked["problems"] == [
        "line 4 (carol): gpu 2 does not fit: the roster asks for 4 nvidia.com/gpu in all, on one node each, "
        "and the nodes have rover1 1 of 2 free, rover2 1 of 1 free"
    ]
    assert "nothing was changed" in checked["message"]
    label = "clouddesktop.roverlab.io/user"
    fitting = roster.check_gpus(check("user,gpu\nalice,1\nbob,1\n"), nodes, pods, "nvidia.com/gpu", label)
    assert fitting["problems"] == []
    # the same pod, not recognised as alice's own, holds the GPU she would need
    assert roster.check_gpus(check("user,gpu\nalice,1\nbob,1\n"), nodes, pods, "nvidia.com/gpu", "other")["problems"]


def test_offboarded_students_stay_removed_until_purged_and_come_back_started():
    previous = {
        "users": {"alice": {"name": "alice"}},
        "offboarded": {"zoe": {"entry": {"name": "zoe", "cpu": "4"}, "backup": "/b/zoe.tar.gz"}},
    }
    result = check("user\nbob\n", previous=previous)
    assert result["removed"] == [{"name": "alice"}, {"name": "zoe", "cpu": "4"}]
    back = check("user\nzoe\n", previous=previous)
    assert back["removed"] == [{"name": "alice"}]
    assert back["entries"] == [{"name": "zoe", "cpu": "1", "memory": "2Gi", "state": "started"}]


def test_next_state_keeps_who_left_and_their_backup_until_purged():
    previous = {"offboarded": {"zoe": {"entry": {"name": "zoe"}, "backup": "/b/zoe-1.tar.gz", "sha256": "ab"}}}
    result = check("user\nbob\n", previous=dict(previous, users={"alice": {"name": "alice", "cpu": "1"}}))
    backups = {"alice": {"location": "/b/alice-2.tar.gz", "sha256": "cd"}}
    state = roster.next_state(result, previous, backups, False, "cs119.csv")
    assert state == {
        "version": 1,
        "roster": "cs119.csv",
        "users": {"bob": {"name": "bob", "cpu": "1", "memory": "2Gi"}},
        "offboarded": {
            "alice": {"entry": {"name": "alice", "cpu": "1"}, "backup": "/b/alice-2.tar.gz", "sha256": "cd"},
            "zoe": {"entry": {"name": "zoe"}, "backup": "/b/zoe-1.tar.gz", "sha256": "ab"},
        },
    }
    assert result["stop_entries"][0] == {"name": "alice", "cpu": "1", "state": "stopped"}
    assert result["purge_entries"][1] == {"name": "zoe", "state": "absent", "purge_data": True, "confirm_purge": "zoe"}
    assert roster.next_state(result, previous, backups, True, "cs119.csv")["offboarded"] == {}
