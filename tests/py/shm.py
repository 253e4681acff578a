# Shared memory from Python against native Linux (run by
# crates/cli/tests/shm.rs with the host's python3): mmap of a file written
# by a child and read back with read(2), anonymous shared mmap across
# fork, sqlite in WAL mode across two processes, multiprocessing.Value and
# Lock (POSIX semaphores in /dev/shm: futexes in a shared file mapping).
import mmap
import multiprocessing as mp
import os
import sys

m = mmap.mmap(-1, 4096)
pid = os.fork()
if pid == 0:
    m[0:5] = b"child"
    os._exit(0)
os.waitpid(pid, 0)
print("anon mmap:", m[0:5])

d = sys.argv[1]
p = d + "/f"
with open(p, "wb") as f:
    f.write(b"." * 8192)
with open(p, "r+b") as f:
    mm = mmap.mmap(f.fileno(), 8192)
    pid = os.fork()
    if pid == 0:
        mm[10:15] = b"hello"
        mm[5000:5005] = b"world"
        mm.flush()
        os._exit(0)
    os.waitpid(pid, 0)
    print("file mmap:", mm[8:17], mm[4998:5007])
    f.seek(0)
    data = f.read()
    print("read(2):", data[8:17], data[4998:5007], len(data))
    mm.resize(12288)
    mm[9000:9003] = b"big"
    mm.close()
print("after resize:", os.path.getsize(p), open(p, "rb").read()[9000:9003])
os.unlink(p)


# sqlite in WAL mode: its -shm index is a shared file mapping both
# processes use.
import sqlite3

db = d + "/t.db"
c = sqlite3.connect(db)
print("journal:", c.execute("pragma journal_mode=wal").fetchone())
c.execute("create table t(x)")
c.execute("insert into t values (1)")
c.commit()
pid = os.fork()
if pid == 0:
    k = sqlite3.connect(db)
    k.execute("insert into t values (2)")
    k.commit()
    k.close()
    os._exit(0)
os.waitpid(pid, 0)
print("sqlite wal:", c.execute("select sum(x), count(*) from t").fetchone())
c.close()
print("left:", sorted(os.listdir(d)))
os.unlink(db)

def work(v, lock):
    for _ in range(300):
        with lock:
            v.value += 1


if __name__ == "__main__":
    v = mp.Value("i", 0)
    lock = mp.Lock()
    ps = [mp.Process(target=work, args=(v, lock)) for _ in range(3)]
    for q in ps:
        q.start()
    for q in ps:
        q.join()
    print("multiprocessing:", v.value, [q.exitcode for q in ps])
