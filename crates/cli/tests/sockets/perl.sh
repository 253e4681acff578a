perl -MIO::Socket::INET -MSocket -e '
my $l = IO::Socket::INET->new(Listen => 5, LocalAddr => "127.0.0.1", LocalPort => 0, Proto => "tcp", ReuseAddr => 1) or die "listen: $!";
my $port = $l->sockport;
my $pid = fork();
if ($pid == 0) { my $c = IO::Socket::INET->new(PeerAddr => "127.0.0.1", PeerPort => $port, Proto => "tcp") or die "connect: $!"; print $c "hello perl\n"; my $r = <$c>; print "child got $r"; exit 0; }
my $s = $l->accept; my $line = <$s>; print "parent got $line"; print $s uc($line); close $s; waitpid($pid, 0); print "status $?\n";
socketpair(my $a, my $b, AF_UNIX, SOCK_STREAM, 0) or die; syswrite($a, "pair"); sysread($b, my $buf, 10); print "pair $buf\n";
'
