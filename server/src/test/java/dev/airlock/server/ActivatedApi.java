package dev.airlock.server;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.nio.file.Path;
import java.util.Optional;

/**
 * A process that serves {@link ApiServer} on {@code args[0]} and answers every request with its
 * pid: what systemd starts for a connection in {@link SocketActivationTest}.
 */
final class ActivatedApi {

    private ActivatedApi() {
    }

    public static void main(String[] args) throws Exception {
        try (ApiServer api = ApiServer.startWith(t -> new SimpleChannelInboundHandler<HttpRequest>() {
            @Override
            protected void channelRead0(ChannelHandlerContext ctx, HttpRequest r) {
                var res = new io.netty.handler.codec.http.DefaultFullHttpResponse(io.netty.handler.codec.http.HttpVersion.HTTP_1_1,
                        HttpResponseStatus.OK, io.netty.buffer.Unpooled.copiedBuffer("served by " + ProcessHandle.current().pid() + "\n",
                                java.nio.charset.StandardCharsets.UTF_8));
                io.netty.handler.codec.http.HttpUtil.setContentLength(res, res.content().readableBytes());
                ctx.writeAndFlush(res).addListener(io.netty.channel.ChannelFutureListener.CLOSE);
            }
        }, Path.of(args[0]), Optional.empty(), Optional.empty())) {
            Thread.sleep(Long.MAX_VALUE);
        } catch (java.io.IOException e) {
            System.err.println(e.getMessage());
            System.exit(3);
        }
    }
}
