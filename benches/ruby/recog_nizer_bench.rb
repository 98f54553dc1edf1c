# frozen_string_literal: true

# Banners per second of Recog's own Ruby matcher (Recog::Nizer.match) on the
# example banners of one Recog database: the comparison for benches/recog.rs.
# Not part of CI. Needs Debian `ruby` and `ruby-nokogiri`.
#
#   ruby -I <rapid7/recog-ruby checkout>/lib benches/ruby/recog_nizer_bench.rb \
#        <rapid7/recog checkout>/xml/http_servers.xml [rounds]
#
# (Recog's Ruby library lives in rapid7/recog-ruby; rapid7/recog holds the XML.)
#
# Prints the number of banners, how many matched, and the median seconds per
# pass over all banners with banners/s.

require 'recog'

path = ARGV.fetch(0) { abort "usage: #{$PROGRAM_NAME} DB.xml [rounds]" }
rounds = (ARGV[1] || 10).to_i

Recog::Nizer.load_db(path)
db = Recog::DB.new(path)
banners = db.fingerprints.flat_map { |fp| fp.tests.map(&:content) }
key = db.match_key

matched = 0
banners.each { |b| matched += 1 if Recog::Nizer.match(key, b) } # warm-up pass

times = Array.new(rounds) do
  t0 = Process.clock_gettime(Process::CLOCK_MONOTONIC)
  banners.each { |b| Recog::Nizer.match(key, b) }
  Process.clock_gettime(Process::CLOCK_MONOTONIC) - t0
end
median = times.sort[times.size / 2]
printf("ruby %s Recog::Nizer.match %s: banners=%d matched=%d rounds=%d median_s=%.4f banners_per_s=%.0f\n",
       RUBY_VERSION, key, banners.size, matched, rounds, median, banners.size / median)
