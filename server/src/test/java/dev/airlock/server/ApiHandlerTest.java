package dev.airlock.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.AbstractByteBufAllocator;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.buffer.UnpooledHeapByteBuf;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The API connection's buffer ownership (issue 17 §4), without a daemon: requests that fail before one is needed. */
class ApiHandlerTest {

    /**
     * Hands out released buffers again, as Netty's pooled allocator does with its recycled
     * objects: a buffer touched after its release is then someone else's.
     */
    static final class RecyclingAllocator extends AbstractByteBufAllocator {
        final Deque<Recycled> free = new ArrayDeque<>();

        final class Recycled extends UnpooledHeapByteBuf {
            Recycled() {
                super(RecyclingAllocator.this, 256, Integer.MAX_VALUE);
            }

            @Override
            protected void deallocate() {
                free.push(this); // keep the array: the object lives on, as a pooled one does
            }

            Recycled reuse() {
                setRefCnt(1);
                clear();
                return this;
            }
        }

        RecyclingAllocator() {
            super(false);
        }

        @Override
        protected ByteBuf newHeapBuffer(int initialCapacity, int maxCapacity) {
            return free.isEmpty() ? new Recycled() : free.pop().reuse();
        }

        @Override
        protected ByteBuf newDirectBuffer(int initialCapacity, int maxCapacity) {
            return newHeapBuffer(initialCapacity, maxCapacity);
        }

        @Override
        public boolean isDirectBufferPooled() {
            return true;
        }
    }

    static EmbeddedChannel channel(ByteBufAllocator alloc) {
        EmbeddedChannel ch = new EmbeddedChannel();
        ch.config().setAllocator(alloc);
        ch.pipeline().addLast(new HttpServerCodec(4096, 16384, 65536), new ApiHandler(null, Optional.empty()));
        return ch;
    }

    static String drainOutbound(EmbeddedChannel ch) {
        StringBuilder b = new StringBuilder();
        for (Object o; (o = ch.readOutbound()) != null; ) {
            if (o instanceof ByteBuf buf) {
                b.append(buf.toString(StandardCharsets.UTF_8));
            }
            ReferenceCountUtil.release(o);
        }
        return b.toString();
    }

    @Test
    void disconnect_afterARunWhoseCommandLineWasRefused_releasesNoBufferItDoesNotOwn() {
        RecyclingAllocator alloc = new RecyclingAllocator();
        EmbeddedChannel ch = channel(alloc);
        String body = "not json\n";
        ch.writeInbound(Unpooled.copiedBuffer("POST /v1/run HTTP/1.1\r\nHost: airlock\r\nContent-Length: " + body.length() + "\r\n\r\n" + body,
                StandardCharsets.UTF_8));
        assertThat(drainOutbound(ch)).startsWith("HTTP/1.1 400").contains("not JSON");
        // buffers the allocator recycled meanwhile now belong to someone else (here: this test)
        List<ByteBuf> others = new ArrayList<>();
        while (!alloc.free.isEmpty()) {
            others.add(alloc.buffer().writeByte(1));
        }
        assertThat(others).as("the connection's released buffers were recycled").isNotEmpty();

        ch.close(); // the client disconnects: channelInactive

        assertThat(others).allSatisfy(b -> assertThat(b.refCnt()).as("another owner's buffer").isEqualTo(1));
        others.forEach(ByteBuf::release);
    }

    @Test
    void disconnect_beforeTheCommandLineArrived_releasesTheHeaderOnce() {
        RecyclingAllocator alloc = new RecyclingAllocator();
        EmbeddedChannel ch = channel(alloc);
        ch.writeInbound(Unpooled.copiedBuffer("POST /v1/run HTTP/1.1\r\nHost: airlock\r\nContent-Length: 100\r\n\r\n{\"proj",
                StandardCharsets.UTF_8));
        int freeBefore = alloc.free.size();
        ch.close();
        assertThat(alloc.free.size()).as("the header buffer went back once").isEqualTo(freeBefore + 1);
    }

    @Test
    void leakDetector_runsAtParanoid_forEveryServerTest() {
        // server/pom.xml sets it for surefire and failsafe: every buffer of every API test is tracked
        assertThat(io.netty.util.ResourceLeakDetector.getLevel()).isEqualTo(io.netty.util.ResourceLeakDetector.Level.PARANOID);
    }
}
