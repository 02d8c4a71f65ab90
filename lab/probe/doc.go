// Package probe reads, without changing anything, what the kernel says about
// a process: the inode of each of its namespaces, the network namespace of
// each of its threads and of each of its sockets, its thread count, memory
// and open files. The live panels, the scenario checks and `nslab inspect`
// all read the kernel through it.
//
// A namespace is identified by the inode of its /proc/PID/ns link: two
// processes are in the same network namespace exactly when their net inodes
// match. A socket keeps the network namespace it was created in for life, so
// a process can hold sockets in many namespaces at once; Take finds each
// one's namespace by asking the socket itself (ioctl SIOCGSKNS on a copy of
// the descriptor obtained with pidfd_getfd), never by reading /proc/PID/net,
// which only shows the namespace the process is in.
//
// A snapshot never guesses: what could not be read (the process exited, no
// permission, an old kernel) is left out and explained in Snapshot.Errors or
// in the Err field of the thread or socket, so a number shown is always a
// number the kernel gave.
package probe
